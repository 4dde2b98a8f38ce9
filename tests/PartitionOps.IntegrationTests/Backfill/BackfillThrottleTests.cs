using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

[Collection(PostgresCollection.Name)]
public sealed class BackfillThrottleTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_custom_throttle_query_pauses_the_walk_until_it_returns_zero()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        // The DBA's gate: while it holds a row, the query asks for 100 ms pauses.
        await db.ExecAsync("CREATE TABLE throttle_gate (closed int); INSERT INTO throttle_gate VALUES (1)");
        var request = db.Request() with
        {
            Throttle = new ThrottleOptions
            {
                MaxBlockedSessions = null,
                CheckInterval = TimeSpan.Zero,
                CustomQuery = "SELECT CASE WHEN EXISTS (SELECT 1 FROM throttle_gate) THEN 100 ELSE 0 END",
            },
        };
        var waits = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type?.Waiting?.Contains("throttle query asked for 100 ms") == true && Interlocked.Increment(ref waits) == 5)
                db.ExecAsync("DELETE FROM throttle_gate").GetAwaiter().GetResult(); // open the gate after five pauses
        });

        var result = await new BackfillService().StartAsync(request, progress);

        Assert.True(result.Status == BackfillStatus.Done, result.StopReason);
        Assert.True(waits >= 5, $"expected the walk to wait on the throttle query, saw {waits} waits");
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task A_session_blocked_by_one_of_ours_pauses_the_walk_until_it_no_longer_waits()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var request = db.Request(batchSize: 50) with
        {
            TargetBatchTime = TimeSpan.Zero,
            Throttle = new ThrottleOptions { MaxBlockedSessions = 0, CheckInterval = TimeSpan.Zero },
        };
        int? blockerPid = null;
        Task? blocker = null;
        var sawBlocked = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type is { TypeName: "ValueSet", Batches: 1 } && blocker is null)
            {
                // Another session asks for the lock our ValueSet worker holds; back to the worker once it waits.
                (blocker, blockerPid) = BlockOnValueSetLock(db);
            }
            if (e.Type?.Waiting?.StartsWith("blocked_by_us", StringComparison.Ordinal) == true
                && Interlocked.Exchange(ref sawBlocked, 1) == 0)
                db.ExecAsync($"SELECT pg_cancel_backend({blockerPid})").GetAwaiter().GetResult();
        });

        var result = await new BackfillService().StartAsync(request, progress);
        await blocker!;

        Assert.Equal(1, sawBlocked);
        Assert.True(result.Status == BackfillStatus.Done, result.StopReason);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task A_blocked_session_does_not_pause_the_walk_when_that_limit_is_off()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        // Signals are read before every batch (replica lag stays on), but the blocked-sessions limit is off.
        var request = db.Request(batchSize: 50) with
        {
            TargetBatchTime = TimeSpan.Zero,
            Throttle = new ThrottleOptions { CheckInterval = TimeSpan.Zero }.Without(ThrottleSignal.BlockedSessions),
        };
        int? blockerPid = null;
        Task? blocker = null;
        long? blockedAtBatch = null;
        var batchesWhileBlocked = 0L;
        var waited = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type?.Waiting is { } w && w.StartsWith("blocked_by_us", StringComparison.Ordinal)) Interlocked.Increment(ref waited);
            if (e.Type is not { TypeName: "ValueSet" } type) return;
            if (type.Batches == 1 && blocker is null)
            {
                (blocker, blockerPid) = BlockOnValueSetLock(db);
                Assert.True(Waiting(), "the blocker never waited on the ValueSet lock");
                blockedAtBatch = type.Batches;
                return;
            }
            // Five more batches while the session is still blocked by ours: the walk did not wait for it.
            if (blockedAtBatch is { } at && type.Batches >= at + 5 && batchesWhileBlocked == 0 && Waiting())
            {
                batchesWhileBlocked = type.Batches - at;
                db.ExecAsync($"SELECT pg_cancel_backend({blockerPid})").GetAwaiter().GetResult();
            }
        });
        bool Waiting() => db.ScalarAsync<long>(
            $"SELECT count(*) FROM pg_stat_activity WHERE pid = {blockerPid} AND wait_event_type = 'Lock'").GetAwaiter().GetResult() > 0;

        var result = await new BackfillService().StartAsync(request, progress);
        await blocker!;

        Assert.True(batchesWhileBlocked >= 5, $"expected batches to go on while a session was blocked, saw {batchesWhileBlocked}");
        Assert.Equal(0, waited);
        Assert.True(result.Status == BackfillStatus.Done, result.StopReason);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    /// <summary>
    /// Starts a session that asks for the app lock our ValueSet worker holds and returns once it waits on it
    /// (called from the worker's progress callback, so synchronously). The test ends it with pg_cancel_backend.
    /// </summary>
    private static (Task Blocker, int Pid) BlockOnValueSetLock(BackfillHarness db)
    {
        var ready = new TaskCompletionSource<int>();
        var blocker = Task.Run(async () =>
        {
            await using var c = await db.OpenAsync();
            await using (var pid = new Npgsql.NpgsqlCommand("SELECT pg_backend_pid()", c)) ready.SetResult(
                (int)(await pid.ExecuteScalarAsync())!);
            try
            {
                await using var wait = new Npgsql.NpgsqlCommand(
                    "SELECT pg_advisory_lock(hashtextextended('partitionops.backfill.public.Resource.PartitionId.ValueSet', 0))", c);
                await wait.ExecuteNonQueryAsync();
            }
            catch (Npgsql.PostgresException x) when (x.SqlState == "57014") { /* cancelled by the test, as intended */ }
        });
        var pid = ready.Task.GetAwaiter().GetResult();
        for (var i = 0; i < 100 && db.ScalarAsync<long>(
            $"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid} AND wait_event_type = 'Lock'").GetAwaiter().GetResult() == 0; i++)
            Thread.Sleep(50);
        return (blocker, pid);
    }
}
