using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>The pre-flight on a real server: what it finds is reported as checks, not thrown.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillPrerequisiteTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    [Fact]
    public async Task A_system_type_missing_from_the_lookup_fails_the_lookup_check_naming_it()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        await db.ExecAsync("""DELETE FROM "ResourceType" WHERE "Name" = 'CodeSystem'""");

        var report = await _service.TestPrerequisitesAsync(db.Request());

        Assert.False(report.Passed);
        var lookup = report.Checks.Single(c => c.Name == "lookup holds every system type");
        Assert.False(lookup.Passed);
        Assert.Contains("CodeSystem", lookup.Detail);
        Assert.Contains("public.ResourceType", lookup.Detail);
        Assert.DoesNotContain("ValueSet", lookup.Detail);
        // The run itself still refuses, before changing anything.
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => _service.StartAsync(db.Request()));
        Assert.Contains("CodeSystem", error.Message);
        Assert.Equal(0L, await db.ScalarAsync<long>("""
            SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'
            """));
    }

    [Fact]
    public async Task The_server_version_is_compared_with_the_minimum_and_a_complete_lookup_passes()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var major = await db.ScalarAsync<int>("SELECT current_setting('server_version_num')::int / 10000");

        var report = await _service.TestPrerequisitesAsync(db.Request());

        var version = report.Checks.Single(c => c.Name == "server version");
        Assert.Equal(major >= 15, version.Passed);
        Assert.Contains($"major version {major}", version.Detail);
        Assert.Contains("PostgreSQL 15", version.Detail);
        Assert.True(report.Checks.Single(c => c.Name == "lookup holds every system type").Passed);
        // PostgreSQL adds the column with a constant default from the catalog: no warning.
        var column = report.Checks.Single(c => c.Name == "partition column");
        Assert.False(column.Warning, column.Detail);
        Assert.Empty(report.Warnings);
    }
}
