using System.Data.Common;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>First-time runners that create the control tables at the same instant.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ControlTableRaceTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Concurrent_first_runs_on_a_fresh_control_schema_all_succeed()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        const int creators = 8;
        for (var round = 0; round < 6; round++)
        {
            var scope = db.Scope with { ControlSchema = $"race_{round}" };
            var sessions = new List<(DbConnection Connection, BackfillContext Context)>();
            try
            {
                for (var i = 0; i < creators; i++)
                {
                    var connection = await db.Target.OpenAsync(CancellationToken.None);
                    sessions.Add((connection, await BackfillContext.ResolveAsync(scope, connection, CancellationToken.None)));
                }
                // Everyone ready, then all at once: CREATE SCHEMA / TABLE IF NOT EXISTS races on the catalog's unique
                // indexes (pg_namespace, pg_type) unless creation is serialized.
                using var start = new Barrier(creators);
                var results = await Task.WhenAll(sessions.Select(s => Task.Run(async () =>
                {
                    start.SignalAndWait();
                    try { await BackfillService.EnsureControlTablesAsync(s.Connection, s.Context, CancellationToken.None); return null; }
                    catch (Exception e) { return e; }
                })));
                Assert.All(results, e => Assert.True(e is null, $"round {round}: {e}"));
                Assert.Equal(4L, await db.ScalarAsync<long>($"SELECT count(*) FROM pg_tables WHERE schemaname = 'race_{round}'"));
                Assert.Equal(1L, await db.ScalarAsync<long>($"SELECT count(*) FROM race_{round}.schema_version"));
            }
            finally
            {
                foreach (var (connection, _) in sessions) await connection.DisposeAsync();
            }
        }

        // And through the public API: concurrent stop requests on a fresh schema each set the flag.
        var stops = await Task.WhenAll(Enumerable.Range(0, creators)
            .Select(_ => new BackfillService().RequestStopAsync(db.Scope with { ControlSchema = "race_api" })));
        Assert.All(stops, s => Assert.Equal("race_api", s.ControlSchema));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM race_api.backfill_control WHERE stop_requested"));
    }

    [Fact]
    public async Task Backfill_and_ilm_creating_in_one_fresh_control_schema_at_once_all_succeed()
    {
        // Both components keep their tables in the same control schema and take the same creation lock.
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        const int each = 4;
        for (var round = 0; round < 4; round++)
        {
            var schema = $"shared_race_{round}";
            var scope = db.Scope with { ControlSchema = schema };
            var sessions = new List<(DbConnection Connection, BackfillContext Context)>();
            try
            {
                for (var i = 0; i < each; i++)
                {
                    var connection = await db.Target.OpenAsync(CancellationToken.None);
                    sessions.Add((connection, await BackfillContext.ResolveAsync(scope, connection, CancellationToken.None)));
                }
                using var start = new Barrier(2 * each);
                var backfill = sessions.Select(s => Task.Run(async () =>
                {
                    start.SignalAndWait();
                    try { await BackfillService.EnsureControlTablesAsync(s.Connection, s.Context, CancellationToken.None); return null; }
                    catch (Exception e) { return e; }
                }));
                var ilm = Enumerable.Range(0, each).Select(i => Task.Run(async () =>
                {
                    start.SignalAndWait();
                    try
                    {
                        await new IlmService().SetConfigAsync(
                            new IlmSetConfigRequest(db.Target, "MAX_MERGES_PER_RUN", $"{10 + i}") { ControlSchema = schema });
                        return null;
                    }
                    catch (Exception e) { return (Exception?)e; }
                }));
                var results = await Task.WhenAll(backfill.Concat(ilm));
                Assert.All(results, e => Assert.True(e is null, $"round {round}: {e}"));
                Assert.Equal(1L, await db.ScalarAsync<long>(
                    $"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename = 'backfill_run'"));
                Assert.Equal(1L, await db.ScalarAsync<long>(
                    $"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename = 'dwh_ilm_config'"));
                Assert.Equal(1L, await db.ScalarAsync<long>(
                    $"SELECT count(*) FROM {schema}.dwh_ilm_config WHERE config_key = 'MAX_MERGES_PER_RUN'"));
            }
            finally
            {
                foreach (var (connection, _) in sessions) await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_creator_that_does_not_take_the_lock_and_wins_the_race_is_survived_by_one_retry()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var scope = db.Scope with { ControlSchema = "race_retry" };
        await using var connection = await db.Target.OpenAsync(CancellationToken.None);
        var context = await BackfillContext.ResolveAsync(scope, connection, CancellationToken.None);

        // Another component (ILM, an older version, a DBA) creates the schema in a transaction it has not
        // committed yet: our CREATE SCHEMA IF NOT EXISTS waits on it, then fails with 23505 once it commits.
        await using var other = await db.OpenAsync();
        await using var tx = await other.BeginTransactionAsync();
        await using (var create = new Npgsql.NpgsqlCommand("CREATE SCHEMA race_retry", other, tx)) await create.ExecuteNonQueryAsync();
        var ours = BackfillService.EnsureControlTablesAsync(connection, context, CancellationToken.None);
        for (var i = 0; i < 100 && await db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'partitionops'") == 0; i++)
            await Task.Delay(50);
        Assert.False(ours.IsCompleted);
        await tx.CommitAsync();

        await ours; // rolled back, tried again, found the schema
        Assert.Equal(4L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'race_retry'"));
    }
}
