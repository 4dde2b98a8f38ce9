using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>`backfill start --phase`, `--index-build-rate` and the index-limit options through the command line, on a real
/// PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillPhaseCliTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Phase_indexes_alone_builds_the_prototype_s_indexes_and_its_dry_run_says_they_cannot_be_paused()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 3_000, types: 8, partitioned: false);
        var column = await CliRun.BackfillAsync("start", db.ConnectionString, "--phase", "column", "--json");
        Assert.True(column.ExitCode == 0, column.ToString());
        Assert.True(column.Json().GetProperty("columnAdded").GetBoolean());

        var plan = await CliRun.BackfillAsync("start", db.ConnectionString, "--phase", "indexes", "--profile", "fhir-prototype",
            "--dry-run",
            "--index-build-rate", "1000");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        Assert.Contains("cannot be paused or resumed", plan.Stdout);
        Assert.Contains("rows at 1,000 rows/s", plan.Stdout);
        Assert.DoesNotContain("UPDATE", plan.Stdout); // phase 2 alone: no batch in the plan

        var indexes = await CliRun.BackfillAsync("start", db.ConnectionString, "--phase", "indexes", "--profile", "fhir-prototype",
            "--json");
        Assert.True(indexes.ExitCode == 0, indexes.ToString());
        Assert.Equal(4, indexes.Json().GetProperty("indexesBuilt").GetArrayLength());
        Assert.Equal(4, await db.ScalarAsync<long>(
            """SELECT count(*) FROM pg_indexes WHERE tablename = 'Resource' AND indexname LIKE 'IX_Resource_%'"""));
        Assert.Equal(0, await db.RowsAtAsync(1)); // no row moved
    }

    [Theory]
    [InlineData("--phase", "sideways", "--phase")]
    [InlineData("--phase", "2", "--phase")]
    [InlineData("--index-max-duration", "10081", "--index-max-duration")]
    [InlineData("--index-max-duration", "0", "--index-max-duration")]
    [InlineData("--maxdop", "65", "--maxdop")]
    [InlineData("--index-build-rate", "0", "--index-build-rate")]
    public async Task A_value_outside_what_the_server_accepts_is_exit_2_naming_the_option(string option, string value, string named)
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 500, types: 8, partitioned: false);
        var run = await CliRun.BackfillAsync("start", db.ConnectionString, option, value);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(named, run.Stderr);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'"));
    }
}
