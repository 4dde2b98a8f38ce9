using System.Diagnostics;
using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>The runner process dies (kill -9) mid-run; the next run resumes and nothing is lost or counted twice.</summary>
[Collection(PostgresCollection.Name)]
public sealed class RunnerKilledTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_runner_killed_mid_run_leaves_no_checkpoint_ahead_of_its_data_and_the_next_run_finishes()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 40_000);
        var system = await db.SystemRowsAsync();
        var start = await CliRun.BackfillAsync("start", db.ConnectionString, "--skip-indexes", "--resource-type", "ValueSet");
        Assert.True(start.ExitCode == 0, start.ToString()); // control tables and column exist, one type done

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { CliRun.FindDll(), "backfill", "start", "--provider", "postgresql", "--skip-indexes",
                     "--batch-size", "50", "--target-batch-ms", "0", "--delay-ms", "100", "--parallel", "2" })
            psi.ArgumentList.Add(a);
        psi.Environment["PARTITIONOPS_CONNECTION"] = db.ConnectionString;
        using var runner = Process.Start(psi)!;
        _ = runner.StandardOutput.ReadToEndAsync();
        _ = runner.StandardError.ReadToEndAsync();

        // Kill it once it has committed some batches of the second run; at 100 ms between batches the run
        // needs seconds more, so the kill always lands mid-run.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await db.ScalarAsync<long>(
            "SELECT COALESCE(sum(batches), 0) FROM partitionops.backfill_checkpoint WHERE run_id = (SELECT max(run_id) FROM " +
            "partitionops.backfill_run)") < 5)
        {
            Assert.True(DateTime.UtcNow < deadline && !runner.HasExited, "the runner made no progress");
            await Task.Delay(50);
        }
        runner.Kill(entireProcessTree: true);
        await runner.WaitForExitAsync();

        Assert.InRange(await db.MisplacedAsync(), 1, system - 1);
        // No checkpoint is ahead of its data.
        Assert.Equal(0L, await db.ScalarAsync<long>("""
            SELECT count(*) FROM partitionops.backfill_checkpoint c
            JOIN "Resource" r ON r."ResourceTypeId" = c.type_id AND r."ResourceSurrogateId" <= c.last_key
            WHERE r."PartitionId" <> 1
            """));
        // Checkpoint totals equal the rows actually moved so far: nothing counted that did not commit.
        Assert.Equal(await db.RowsAtAsync(1), await db.ScalarAsync<long>("SELECT sum(rows_updated) FROM partitionops.backfill_checkpoint"));

        var resumed = await CliRun.BackfillAsync("start", db.ConnectionString, "--skip-indexes", "--json");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Equal(system, await db.ScalarAsync<long>("SELECT sum(rows_updated) FROM partitionops.backfill_checkpoint"));
        Assert.Equal(BackfillStatus.Done,
            await db.ScalarAsync<string>("SELECT status FROM partitionops.backfill_run ORDER BY run_id DESC LIMIT 1"));
    }
}
