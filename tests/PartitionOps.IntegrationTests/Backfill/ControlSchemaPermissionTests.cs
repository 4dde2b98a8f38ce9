using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>A login without CREATE on the database, working in a control schema the DBA created for it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ControlSchemaPermissionTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_pre_created_control_schema_needs_no_create_on_the_database()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var role = "runner_" + Guid.NewGuid().ToString("N")[..8];
        var database = new NpgsqlConnectionStringBuilder(db.ConnectionString).Database;
        await db.ExecAsync($"""
            CREATE ROLE {role} LOGIN;
            REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC;
            CREATE SCHEMA ops;
            GRANT USAGE, CREATE ON SCHEMA ops TO {role};
            GRANT SELECT ON "ResourceType" TO {role};
            """);
        var asRunner = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Username = role }.ConnectionString;
        var scope = new BackfillScope { Target = new DatabaseTarget(PostgreSqlProvider.Instance, asRunner), ControlSchema = "ops" };

        var service = new BackfillService();
        var before = await service.TestPrerequisitesAsync(new BackfillRequest { Scope = scope });
        var check = before.Checks.Single(c => c.Name == "permission create_control_schema");
        Assert.True(check.Passed, check.Detail);

        var stop = await service.RequestStopAsync(scope);

        Assert.Equal("ops", stop.ControlSchema);
        Assert.Equal(4L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'ops'"));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM ops.backfill_control WHERE stop_requested"));

        // Without CREATE on the schema the check fails and says what to grant; so does the creation.
        var other = new BackfillScope { Target = scope.Target, ControlSchema = "ops2" };
        await db.ExecAsync($"CREATE SCHEMA ops2; GRANT USAGE ON SCHEMA ops2 TO {role};");
        var denied = (await service.TestPrerequisitesAsync(new BackfillRequest { Scope = other }))
            .Checks.Single(c => c.Name == "permission create_control_schema");
        Assert.False(denied.Passed);
        Assert.Equal("missing: the login needs USAGE and CREATE on schema ops2 (it exists)", denied.Detail);
        await Assert.ThrowsAsync<PostgresException>(() => service.RequestStopAsync(other));

        var missing = (await service.TestPrerequisitesAsync(new BackfillRequest { Scope = scope with { ControlSchema = "nosuch" } }))
            .Checks.Single(c => c.Name == "permission create_control_schema");
        Assert.False(missing.Passed);
        Assert.Equal("missing: the login needs CREATE on the database (control schema nosuch does not exist yet)", missing.Detail);
    }
}
