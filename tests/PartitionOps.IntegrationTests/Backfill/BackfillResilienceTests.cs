using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Demo;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>No failure loses or duplicates a row: locks, concurrent writers, pauses, stops, killed sessions, rival runners.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillResilienceTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    private static void AssertDone(BackfillResult result) =>
        Assert.True(result.Status == BackfillStatus.Done, $"status {result.Status}: {result.StopReason}");

    [Fact]
    public async Task A_lock_held_on_rows_makes_batches_wait_and_retry_not_fail()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        // Phase 1 and 2 first, so the lock below only meets batches.
        AssertDone(await _service.StartAsync(db.Request() with { SkipBackfill = true }));

        await using var blocker = await db.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockRows = new NpgsqlCommand("""
            SELECT 1 FROM "Resource"
            WHERE "ResourceTypeId" = (SELECT "ResourceTypeId" FROM "ResourceType" WHERE "Name" = 'ValueSet') FOR UPDATE
            """, blocker, tx))
            await lockRows.ExecuteNonQueryAsync();
        // Released once a batch has been seen waiting for these rows and its 100 ms lock timeout has surely fired: a
        // fixed delay raced the walk under load (ValueSet, the largest type, is walked last).
        var blockerPid = blocker.ProcessID;
        var release = Task.Run(async () =>
        {
            await using var watcher = await db.OpenAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                await using var waiting = new NpgsqlCommand(
                    $"SELECT count(*) FROM pg_stat_activity WHERE {blockerPid} = ANY (pg_blocking_pids(pid))", watcher);
                if ((long)(await waiting.ExecuteScalarAsync())! > 0) break;
                await Task.Delay(20);
            }
            await Task.Delay(1000);
            await tx.CommitAsync();
        });

        var result = await _service.StartAsync(db.Request() with { BatchLockTimeout = TimeSpan.FromMilliseconds(100) });
        await release;

        AssertDone(result);
        Assert.True(result.Types.Single(t => t.TypeName == "ValueSet").LockWaits > 0,
            "expected the ValueSet batches to have waited for the lock");
        Assert.Equal(system, result.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task Rows_inserted_during_the_run_above_and_behind_the_walk_end_placed()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var inserted = 0;
        var once = 0;
        var progress = new InlineProgress(e =>
        {
            // On the first batch of the largest system type, the application writes new rows of every system
            // type (above the high-water mark) and some with keys the walk has already passed.
            if (e.Type is { TypeName: "ValueSet", Batches: 1 } && Interlocked.Exchange(ref once, 1) == 0)
            {
                using var c = db.OpenAsync().GetAwaiter().GetResult();
                foreach (var typeId in Enumerable.Range(1, 7))
                    inserted += FhirSample.InsertNewRowsAsync(c, "public", typeId, 40).GetAwaiter().GetResult();
                using var behind = new NpgsqlCommand($"""
                    INSERT INTO "Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version")
                    SELECT "ResourceTypeId", "ResourceSurrogateId" + 3, 'behind-' || "ResourceSurrogateId", 1
                    FROM "Resource" WHERE "ResourceTypeId" = {e.Type.TypeId} AND "ResourceSurrogateId" <= {e.Type.LastKey}
                    ORDER BY "ResourceSurrogateId" LIMIT 25
                    """, c);
                inserted += behind.ExecuteNonQuery();
            }
        });
        var systemBefore = await db.SystemRowsAsync();

        var result = await _service.StartAsync(db.Request(batchSize: 100) with { TargetBatchTime = TimeSpan.Zero }, progress);

        AssertDone(result);
        Assert.Equal(7 * 40 + 25, inserted);
        Assert.Equal(systemBefore + inserted, await db.SystemRowsAsync());
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Equal(systemBefore + inserted, result.RowsUpdated);
        Assert.Contains(progress.Events, e => e.Message.Contains("catching up"));
    }

    [Fact]
    public async Task A_run_paused_by_max_duration_resumes_where_it_stopped_without_moving_a_row_twice()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        var request = db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero, Delay = TimeSpan.FromMilliseconds(20) };
        AssertDone(await _service.StartAsync(request with { SkipBackfill = true }));

        var first = await _service.StartAsync(
            request with { MaxDuration = TimeSpan.FromMilliseconds(400), SkipColumn = true, SkipIndexes = true });
        Assert.Equal(BackfillStatus.Paused, first.Status);
        Assert.Contains("max duration", first.StopReason);
        Assert.InRange(first.RowsUpdated, 1, system - 1);
        // The checkpoint is never ahead of its data: every row at or below it has moved.
        Assert.Equal(0, await db.ScalarAsync<long>("""
            SELECT count(*) FROM partitionops.backfill_checkpoint c
            JOIN "Resource" r ON r."ResourceTypeId" = c.type_id AND r."ResourceSurrogateId" <= c.last_key
            WHERE r."PartitionId" <> 1
            """));

        var second = await _service.StartAsync(request);
        AssertDone(second);
        Assert.Equal(first.RunId, second.RunId);
        Assert.Equal(system, second.RowsUpdated); // checkpoint totals over both sessions: each row once
        // The rate counts only what this call walked in its own phase 3.
        Assert.Equal(first.RowsScanned, first.Phase3RowsScanned);
        Assert.Equal(second.RowsScanned - first.RowsScanned, second.Phase3RowsScanned);
        Assert.Equal(second.Phase3RowsScanned / second.Phase3Elapsed.TotalSeconds, second.RowsPerSecond, 6);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task Stop_asks_workers_to_pause_after_their_batch_and_the_next_start_finishes()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        var once = 0;
        BackfillStopRequest? flagged = null;
        var progress = new InlineProgress(e =>
        {
            if (e.Type is { Batches: 2 } && Interlocked.Exchange(ref once, 1) == 0)
                flagged = _service.RequestStopAsync(db.Scope).GetAwaiter().GetResult();
        });
        var request = db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero };

        var stopped = await _service.StartAsync(request, progress);
        Assert.Equal(BackfillStatus.Paused, stopped.Status);
        Assert.Equal("stop requested", stopped.StopReason);
        // The stop names what it flagged, as resolved against the catalog, and the run it reached.
        Assert.NotNull(flagged);
        Assert.Equal("public.Resource", flagged.Table);
        Assert.Equal("PartitionId", flagged.Column);
        Assert.Equal("partitionops", flagged.ControlSchema);
        Assert.Equal(stopped.RunId, flagged.RunId);
        Assert.True(flagged.RunInProgress);
        Assert.Contains("run " + stopped.RunId + " is running", flagged.Summary);
        Assert.True(await db.MisplacedAsync() > 0);

        var resumed = await _service.StartAsync(request);
        AssertDone(resumed);
        Assert.Equal(system, resumed.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task Sessions_killed_mid_run_reconnect_and_finish()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        var kills = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type is { Batches: 3 } && Interlocked.Increment(ref kills) <= 2)
            {
                // Kill the workers' sessions (they hold the type locks), as a failover would.
                using var c = db.OpenAsync().GetAwaiter().GetResult();
                using var kill = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() AND " +
                    "database = (SELECT oid FROM pg_database WHERE datname = current_database())", c);
                kill.ExecuteScalar();
            }
        });

        // Signals read after every batch: the first statement after the kill is a throttle probe, not a batch,
        // so this also proves that every statement of a worker reconnects, not only the batches.
        var request = db.Request(batchSize: 100) with
        {
            TargetBatchTime = TimeSpan.Zero, Parallelism = 2,
            Throttle = new ThrottleOptions { MaxBlockedSessions = null, CheckInterval = TimeSpan.Zero },
        };
        var result = await _service.StartAsync(request, progress);

        AssertDone(result);
        Assert.Contains(progress.Events, e => e.Message.Contains("reconnecting"));
        Assert.Equal(system, result.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task Two_runners_at_once_never_work_the_same_type_and_move_each_row_once()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 40_000);
        var system = await db.SystemRowsAsync();
        AssertDone(await _service.StartAsync(db.Request() with { SkipBackfill = true }));
        var request = db.Request(batchSize: 100) with { TargetBatchTime = TimeSpan.Zero, Delay = TimeSpan.FromMilliseconds(2),
            Parallelism = 3 };

        var results = await Task.WhenAll(_service.StartAsync(request), _service.StartAsync(request));

        Assert.Equal(0, await db.MisplacedAsync());
        // Both runners share one run; each type was walked by exactly one of them.
        var checkpointTotal = await db.ScalarAsync<long>("SELECT sum(rows_updated) FROM partitionops.backfill_checkpoint");
        Assert.Equal(system, checkpointTotal);
        var walkedByEach = results.Select(r => r.Types.Where(t => !r.SkippedTypes.Contains(t.TypeName)).Select(t => t.TypeName)).ToList();
        Assert.Equal(7, results.SelectMany(r => r.SkippedTypes).Concat(walkedByEach.SelectMany(x => x)).Distinct().Count());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_type_failing_permanently_is_marked_failed_while_the_others_finish_and_a_rerun_retries_it(int parallel)
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        AssertDone(await _service.StartAsync(db.Request() with { SkipBackfill = true }));
        // The two smallest types go first and cannot be updated today: a real, permanent error of theirs alone.
        await db.ExecAsync("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION '% is frozen today', TG_TABLE_NAME; END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON "Resource_6" FOR EACH ROW EXECUTE FUNCTION refuse();
            CREATE TRIGGER refuse BEFORE UPDATE ON "Resource_7" FOR EACH ROW EXECUTE FUNCTION refuse();
            """);
        var request = db.Request(batchSize: 100) with { TargetBatchTime = TimeSpan.Zero, Parallelism = parallel };

        var failed = await _service.StartAsync(request);

        Assert.Equal(BackfillStatus.Failed, failed.Status);
        Assert.Equal(["CapabilityStatement", "CompartmentDefinition"], failed.FailedTypes.Order());
        Assert.Contains("CompartmentDefinition failed: ", failed.StopReason);
        Assert.Contains("Resource_7 is frozen today", failed.StopReason);
        Assert.Contains("CapabilityStatement failed: ", failed.StopReason);
        var byType = failed.Types.ToDictionary(t => t.TypeName);
        Assert.Equal(BackfillStatus.Failed, byType["CompartmentDefinition"].Status);
        Assert.Contains("frozen", byType["CompartmentDefinition"].LastError);
        // The other five went on to the end, although the failures came first.
        Assert.All(byType.Values.Where(t => !failed.FailedTypes.Contains(t.TypeName)), t => Assert.Equal(BackfillStatus.Done, t.Status));
        var frozenRows = await db.ScalarAsync<long>("""SELECT count(*) FROM "Resource" WHERE "ResourceTypeId" IN (6, 7)""");
        Assert.Equal(system - frozenRows, failed.RowsUpdated);
        Assert.Equal(frozenRows, await db.MisplacedAsync());
        Assert.Equal("failed", await db.ScalarAsync<string>($"SELECT status FROM partitionops.backfill_run WHERE run_id = {failed.RunId}"));

        // Cause fixed: the same command resumes the run and retries only the failed types.
        await db.ExecAsync("""DROP TRIGGER refuse ON "Resource_6"; DROP TRIGGER refuse ON "Resource_7";""");
        var rerun = await _service.StartAsync(request);
        AssertDone(rerun);
        Assert.Equal(failed.RunId, rerun.RunId);
        Assert.Empty(rerun.FailedTypes);
        Assert.Equal(frozenRows, rerun.Phase3RowsScanned);
        Assert.Equal(system, rerun.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task Parallel_workers_finish_every_type()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var result = await _service.StartAsync(db.Request() with { Parallelism = 4 });
        AssertDone(result);
        Assert.Equal(7, result.Types.Count(t => t.Status == BackfillStatus.Done));
        Assert.Equal(0, await db.MisplacedAsync());
    }
}
