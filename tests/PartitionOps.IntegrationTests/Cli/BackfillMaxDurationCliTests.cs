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
            WHERE t."Name" IN ('SearchParameter','OperationDefinition','StructureDefinition','ValueSet','CodeSystem','CapabilityStatement','CompartmentDefinition')
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
}
