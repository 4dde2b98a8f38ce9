using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Demo;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// Phase 2 on a table partitioned by type while one writer sits idle in its transaction and the application keeps
/// inserting: the parent's CREATE INDEX ON ONLY wants SHARE on the table, which the idle writer's ROW EXCLUSIVE holds
/// off; while it waits, every new insert queues behind it. Our wait must stay short and be retried, so no insert
/// waits 3 s or more because of us, and phase 2 completes once the idle transaction ends.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillPhase2WritersTests(PostgresFixture postgres)
{
    private const string Inserter = "app-inserter";
    private const double ToleratedInsertWaitSeconds = 3;

    [Fact]
    public async Task Index_builds_behind_an_idle_writer_never_hold_application_inserts_for_3_seconds_and_complete_after_it_ends()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 5_000, types: 12, partitioned: true);
        var service = new BackfillService();
        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request() with { SkipIndexes = true, SkipBackfill = true })).Status);

        // The idle writer: one insert, then nothing, transaction open.
        await using var idle = await db.OpenAsync();
        var idleTx = await idle.BeginTransactionAsync();
        await FhirSample.InsertNewRowsAsync(idle, "public", 11, 1);

        using var stop = new CancellationTokenSource();
        var inserts = 0L;
        var app = Task.Run(async () =>
        {
            var cs = new NpgsqlConnectionStringBuilder(db.ConnectionString) { ApplicationName = Inserter }.ConnectionString;
            await using var c = new NpgsqlConnection(cs);
            await c.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await FhirSample.InsertNewRowsAsync(c, "public", 12, 1);
                Interlocked.Increment(ref inserts);
                await Task.Delay(50);
            }
        });
        // Samples the inserter's lock waits from the server's side (pg_stat_activity), and who blocks it.
        var longestWait = 0.0;
        var samplesBlockedByUs = 0;
        var sampler = Task.Run(async () =>
        {
            await using var c = await db.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var cmd = new NpgsqlCommand($"""
                    SELECT coalesce(max(extract(epoch FROM clock_timestamp() - a.query_start)), 0)::float8,
                           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_stat_activity b
                               WHERE b.pid = ANY (pg_blocking_pids(a.pid)) AND b.application_name = 'partitionops'))::int
                    FROM pg_stat_activity a WHERE a.application_name = '{Inserter}' AND a.wait_event_type = 'Lock'
                    """, c);
                await using var r = await cmd.ExecuteReaderAsync();
                await r.ReadAsync();
                longestWait = Math.Max(longestWait, r.GetDouble(0));
                samplesBlockedByUs += r.GetInt32(1);
                await Task.Delay(100);
            }
        });

        var lockRetries = 0;
        var progress = new InlineProgress(e =>
        {
            // After a few short waits that gave up, the idle transaction ends.
            if (e.Phase == "index" && e.Message.Contains("lock not granted") && Interlocked.Increment(ref lockRetries) == 4)
                idleTx.Commit();
        });
        BackfillResult result;
        try
        {
            result = await service.StartAsync(db.Request() with { SkipColumn = true, SkipBackfill = true }, progress);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(app, sampler);
        }

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.True(lockRetries >= 4, $"expected phase 2 to wait for the idle writer, saw {lockRetries} lock retries");
        Assert.True(samplesBlockedByUs > 0,
            "expected the inserts to have queued behind our DDL at least once (else this test proves nothing)");
        Assert.True(longestWait < ToleratedInsertWaitSeconds, $"an application insert waited {longestWait:0.0} s for a lock");
        Assert.True(Interlocked.Read(ref inserts) > 0);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        var p = BackfillProfile.Fhir;
        Assert.Equal(2, await db.ScalarAsync<long>(
            $"SELECT count(*) FROM pg_class WHERE relname IN ('{p.SystemIndexName}', '{p.DefaultIndexName}') AND relnamespace = " +
                $"'public'::regnamespace"));
    }
}
