using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Demo;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// The server restarts (a crash or a failover) or a session is terminated mid-run: the main connection and every
/// worker reconnect with back-off, the run goes on and ends done, with every row placed once and the run's row truthful.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillConnectionFaultTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    /// <summary>A cluster of the test's own, so restarting it cuts no other test's sessions.</summary>
    private static async Task<(ThrowawayPostgres Cluster, BackfillHarness Db)> OwnClusterAsync(long rows = 20_000)
    {
        // Commits must survive the crash of an immediate stop (the shared fixture turns synchronous_commit off for speed).
        var cluster = await ThrowawayPostgres.StartAsync(settings: new Dictionary<string, string> { ["synchronous_commit"] = "on" });
        await using (var admin = new NpgsqlConnection(cluster.ConnectionString()))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE DATABASE fault", admin);
            await create.ExecuteNonQueryAsync();
        }
        return (cluster, await BackfillHarness.CreateOnAsync(cluster.ConnectionString("fault"), rows));
    }

    private static async Task AssertRunDoneAndRowsPlacedAsync(BackfillHarness db, BackfillResult result, long system)
    {
        Assert.True(result.Status == BackfillStatus.Done, $"status {result.Status}: {result.StopReason}");
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Equal(system, await db.RowsAtAsync(1));
        Assert.Equal(system, await db.ScalarAsync<long>("SELECT sum(rows_updated) FROM partitionops.backfill_checkpoint"));
        Assert.Equal("done", await db.ScalarAsync<string>($"SELECT status FROM partitionops.backfill_run WHERE run_id = {result.RunId}"));
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.backfill_run WHERE status = 'running'"));
        // Every index readable and consistent after the crash recovery.
        await db.ExecAsync("CREATE EXTENSION IF NOT EXISTS amcheck");
        await db.ExecAsync("""
            SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid
            AND c.relnamespace = 'public'::regnamespace
            """);
    }

    [Fact]
    public async Task A_server_restart_mid_walk_reconnects_every_connection_and_the_run_ends_done()
    {
        var (cluster, db) = await OwnClusterAsync();
        await using var _ = cluster;
        var system = await db.SystemRowsAsync();
        var restarts = 0;
        var progress = new InlineProgress(e =>
        {
            // On the worker's own thread between two batches: the server goes down for a second and comes back.
            // Both workers' sessions and the runner's main session are cut; the other worker may be mid-batch.
            if (e.Type is { Batches: 3 } && Interlocked.Increment(ref restarts) == 1)
                cluster.RestartAsync(TimeSpan.FromSeconds(1)).GetAwaiter().GetResult();
        });
        var request = db.Request(batchSize: 100) with { TargetBatchTime = TimeSpan.Zero, Parallelism = 2 };

        var result = await _service.StartAsync(request, progress);
        NpgsqlConnection.ClearAllPools(); // the harness's own pooled sessions died with the restart

        Assert.True(restarts >= 1);
        Assert.Contains(progress.Events, e => e.Message.Contains("reconnecting"));
        await AssertRunDoneAndRowsPlacedAsync(db, result, system);
    }

    [Fact]
    public async Task A_server_restart_before_each_index_build_reconnects_and_phase_2_completes()
    {
        var (cluster, db) = await OwnClusterAsync(rows: 5_000);
        await using var _ = cluster;
        var system = await db.SystemRowsAsync();
        var restarts = 0;
        var progress = new InlineProgress(e =>
        {
            // Phase 2 reports each build just before it runs it on the main connection: cut that connection there.
            if (e.Phase == "index" && e.Message.StartsWith("build", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref restarts);
                cluster.RestartAsync().GetAwaiter().GetResult();
            }
        });

        var result = await _service.StartAsync(db.Request(), progress);
        NpgsqlConnection.ClearAllPools(); // the harness's own pooled sessions died with the restart

        Assert.Equal(2, restarts);
        Assert.Contains(progress.Events, e => e.Phase == "index" && e.Message.Contains("reconnecting"));
        Assert.Equal(2, result.IndexesBuilt.Count);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        await AssertRunDoneAndRowsPlacedAsync(db, result, system);
    }

    /// <summary>Terminates this database's partitionops sessions: the runner's main one (no advisory lock held in phase 3), or
    /// all.</summary>
    private static int Terminate(BackfillHarness db, bool mainOnly)
    {
        using var c = db.OpenAsync().GetAwaiter().GetResult();
        using var kill = new NpgsqlCommand($"""
            SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.application_name = 'partitionops' AND a.pid <> pg_backend_pid()
            {(mainOnly ? "AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory')" : "")}
            """, c);
        return Convert.ToInt32(kill.ExecuteScalar());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_terminated_main_session_or_worker_session_reconnects_and_the_run_ends_done(bool mainOnly)
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        var terminated = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type is { Batches: 3 } && Interlocked.CompareExchange(ref terminated, -1, 0) == 0)
                terminated = Terminate(db, mainOnly);
        });
        var request = db.Request(batchSize: 100) with { TargetBatchTime = TimeSpan.Zero, Parallelism = 2 };

        var result = await _service.StartAsync(request, progress);

        Assert.True(terminated >= (mainOnly ? 1 : 2), $"terminated {terminated} sessions");
        // The main session's own reconnect (its message has no type name in front), and with all killed, the workers' too.
        Assert.Contains(progress.Events, e => e.Phase == "backfill" && e.Message.StartsWith("connection fault", StringComparison.Ordinal));
        if (!mainOnly) Assert.Contains(progress.Events, e => e.Phase == "backfill" && e.Message.Contains(": connection fault"));
        await AssertRunDoneAndRowsPlacedAsync(db, result, system);
    }
}
