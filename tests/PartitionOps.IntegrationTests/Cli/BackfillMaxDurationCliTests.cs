using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>`--max-duration` reached while batches wait for row locks: a clean pause (exit 0), not a cancellation.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillMaxDurationCliTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Max_duration_reached_during_lock_waits_is_a_clean_pause_with_exit_0_and_resumes()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 5_000, types: 12);
        var system = await db.SystemRowsAsync();
        var service = new BackfillService();
        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request() with { SkipBackfill = true })).Status);

        // Another session holds every system row: each batch times out on its lock, waits and retries until the time is up.
        await using var blocker = await db.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockRows = new NpgsqlCommand("""
            SELECT 1 FROM "Resource" r JOIN "ResourceType" t ON t."ResourceTypeId" = r."ResourceTypeId"
            WHERE t."Name" IN ('SearchParameter','OperationDefinition','StructureDefinition','ValueSet','CodeSystem','CapabilityStatement',
                               'CompartmentDefinition')
            FOR UPDATE OF r
            """, blocker, tx))
            await lockRows.ExecuteNonQueryAsync();

        var run = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--skip-indexes",
            "--max-duration", "00:00:01", "--lock-timeout-ms", "100", "--max-blocked-sessions", "off");

        Assert.True(run.ExitCode == 0, run.ToString());
        var result = run.Json();
        Assert.Equal("paused", result.GetProperty("status").GetString());
        Assert.Contains("max duration", result.GetProperty("stopReason").GetString());
        Assert.True(result.GetProperty("types").EnumerateArray().Sum(t => t.GetProperty("lockWaits").GetInt64()) > 0, run.ToString());
        // Recorded as paused, the waiting type's checkpoint too (not left 'running'), and never ahead of its data.
        Assert.Equal("paused", await db.ScalarAsync<string>("SELECT status FROM partitionops.backfill_run ORDER BY run_id DESC LIMIT 1"));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.backfill_checkpoint WHERE status = 'running'"));
        Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.backfill_checkpoint WHERE status = 'paused'") > 0);
        Assert.Equal(0L, await db.ScalarAsync<long>("""
            SELECT count(*) FROM partitionops.backfill_checkpoint c
            JOIN "Resource" r ON r."ResourceTypeId" = c.type_id AND r."ResourceSurrogateId" <= c.last_key
            WHERE r."PartitionId" <> 1
            """));

        await tx.CommitAsync();
        var resumed = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--skip-indexes");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal("done", resumed.Json().GetProperty("status").GetString());
        Assert.Equal(result.GetProperty("runId").GetInt64(), resumed.Json().GetProperty("runId").GetInt64());
        Assert.Equal(system, resumed.Json().GetProperty("rowsUpdated").GetInt64());
        Assert.Equal(0, await db.MisplacedAsync());
    }

    /// <summary>
    /// A held lock keeps phase 1 (ALTER TABLE wants ACCESS EXCLUSIVE; an open reader holds ACCESS SHARE) or phase 2 (the
    /// parent's CREATE INDEX ON ONLY wants SHARE; an open writer holds ROW EXCLUSIVE) waiting. With a 2 s limit and 300 ms
    /// lock timeouts, the run pauses between two attempts once the next one would cross the limit (before: a 20 s limit
    /// ran 173 s, retrying on): exit 0, status paused, the reason names the phase, and no attempt started past the limit.
    /// </summary>
    [Theory]
    [InlineData(1, "ACCESS SHARE")]
    [InlineData(2, "ROW EXCLUSIVE")]
    public async Task Max_duration_reached_while_ddl_waits_for_a_lock_is_a_clean_pause_before_any_further_attempt(int phase,
        string heldMode)
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10, partitioned: true);
        if (phase == 2)
            Assert.Equal(BackfillStatus.Done,
                (await new BackfillService().StartAsync(db.Request() with { SkipIndexes = true, SkipBackfill = true })).Status);
        await using var blocker = await db.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"""LOCK TABLE "Resource" IN {heldMode} MODE""", blocker, tx))
            await hold.ExecuteNonQueryAsync();

        var run = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--max-duration", "00:00:02", "--ddl-lock-timeout-ms",
            "300");

        Assert.True(run.ExitCode == 0, run.ToString());
        var result = run.Json();
        Assert.Equal("paused", result.GetProperty("status").GetString());
        var reason = result.GetProperty("stopReason").GetString()!;
        Assert.Contains("max duration 00:00:02 reached in phase " + phase, reason);
        Assert.Contains("waiting for a lock", reason);
        // Each attempt waits 300 ms plus a back-off from 100 ms doubling: at most a handful fit in 2 s, and the engine
        // stopped instead of retrying on (not a wall-clock bound: the machine may be busy).
        var attempts = run.Stderr.Split('\n').Count(l => l.Contains("lock not granted"));
        Assert.InRange(attempts, 1, 6);
        // Nothing half done: phase 1 left no column; phase 2 left no run row (the walk never started).
        if (phase == 1)
            Assert.Equal(0L, await db.ScalarAsync<long>(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'"));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.backfill_run"));

        await tx.CommitAsync();
        var resumed = await CliRun.BackfillAsync("start", db.ConnectionString, "--json");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal("done", resumed.Json().GetProperty("status").GetString());
        Assert.Equal(0, await db.MisplacedAsync());
    }
}
