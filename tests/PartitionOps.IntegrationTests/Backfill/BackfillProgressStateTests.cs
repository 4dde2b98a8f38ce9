using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Demo;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>What progress and stop report in the states an operator sees: paused and resumed, a rerun's catch-up, a partial undo, two
/// runners.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillProgressStateTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    [Fact]
    public async Task A_pause_between_two_sessions_does_not_count_in_a_types_working_time_or_its_rate()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        // 200 ms between batches of 50 rows: the first session cannot finish in its 1.5 s, however fast the machine.
        var request = db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero, Delay = TimeSpan.FromMilliseconds(200) };
        Assert.Equal(BackfillStatus.Done, (await _service.StartAsync(request with { SkipBackfill = true })).Status);
        var first = await _service.StartAsync(
            request with { MaxDuration = TimeSpan.FromSeconds(1.5), SkipColumn = true, SkipIndexes = true });
        Assert.Equal(BackfillStatus.Paused, first.Status);
        Assert.True(first.RowsScanned > 0, "expected the first session to have walked some rows before its pause");

        var pause = TimeSpan.FromSeconds(4);
        await Task.Delay(pause);
        var second = await _service.StartAsync(request with { Delay = TimeSpan.Zero });
        Assert.Equal(BackfillStatus.Done, second.Status);

        // Each type's working time (completed_at - started_at) leaves the 4 s pause out: it is at most both sessions' own time.
        var worked = TimeSpan.FromSeconds(await db.ScalarAsync<double>(
            "SELECT max(extract(epoch FROM completed_at - started_at))::float8 FROM partitionops.backfill_checkpoint"));
        Assert.True(worked < first.Elapsed + second.Elapsed,
            $"a type worked {worked} against {first.Elapsed} + {second.Elapsed} of running");
        // So progress's rate is the working rate, not one diluted by the pause.
        var report = await _service.GetProgressAsync(db.Scope);
        var slowest = report.Types.Where(t => t.RowsScanned > 0).Min(t => t.RowsPerSecond!.Value);
        var diluted = report.Types.Max(t => t.RowsScanned) / (first.Elapsed + pause + second.Elapsed).TotalSeconds;
        Assert.True(report.Types.Single(t => t.RowsScanned == report.Types.Max(x => x.RowsScanned)).RowsPerSecond > diluted,
            $"slowest {slowest:0} rows/s, diluted {diluted:0}");
    }

    [Fact]
    public async Task A_reruns_catch_up_reports_the_few_new_rows_as_nearly_done_not_the_whole_types_estimate_as_left()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        Assert.Equal(BackfillStatus.Done, (await _service.StartAsync(db.Request())).Status);
        await using (var c = await db.OpenAsync())
            await FhirSample.InsertNewRowsAsync(c, "public", 4, 300);
        await db.ExecAsync("ANALYZE \"Resource\"");

        var events = new InlineProgress(_ => { });
        var rerun = await _service.StartAsync(db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero }, events);

        Assert.Equal(BackfillStatus.Done, rerun.Status);
        var typeEvents = events.Events.Where(e => e.Type is not null).Select(e => e.Type!).ToList();
        Assert.NotEmpty(typeEvents);
        // The rerun walks only what is new, as a catch-up from the start; never an ETA built from the type's whole estimate.
        Assert.DoesNotContain(typeEvents, t => t.Status == BackfillStatus.Running);
        Assert.All(typeEvents, t => Assert.True(t.Eta is null || t.Eta < TimeSpan.FromSeconds(5), $"{t.TypeName} {t.Status}: ETA {t.Eta}"));
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task After_a_partial_undo_progress_shows_only_the_types_it_chose()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        Assert.Equal(BackfillStatus.Done, (await _service.StartAsync(db.Request())).Status);
        Assert.Equal(BackfillStatus.Done,
            (await _service.UndoAsync(db.Request() with { Scope = db.Scope with { ResourceTypes = ["ValueSet", "CodeSystem"] } })).Status);

        var report = await _service.GetProgressAsync(db.Scope);

        Assert.Equal("undo", report.Direction);
        Assert.Equal(["CodeSystem", "ValueSet"], report.Types.Select(t => t.TypeName).Order(StringComparer.Ordinal));
        Assert.All(report.Types, t => Assert.Equal(BackfillStatus.Done, t.Status));
    }

    [Fact]
    public async Task Stop_while_a_runner_walks_says_so_even_when_the_runs_row_was_left_paused_by_another_runner()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        BackfillStopRequest? stop = null;
        var once = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type is { Batches: 3 } && Interlocked.Exchange(ref once, 1) == 0)
            {
                // What a second runner that ended first used to write while this one was still walking.
                using (var c = db.OpenAsync().GetAwaiter().GetResult())
                using (var cmd = new NpgsqlCommand("UPDATE partitionops.backfill_run SET status = 'paused'", c))
                    cmd.ExecuteNonQuery();
                stop = _service.RequestStopAsync(db.Scope).GetAwaiter().GetResult();
            }
        });

        var result = await _service.StartAsync(db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero }, progress);

        Assert.NotNull(stop);
        Assert.True(stop.RunInProgress, stop.Summary);
        Assert.NotEmpty(stop.WorkingTypes);
        Assert.DoesNotContain("nothing to pause", stop.Summary);
        Assert.Equal(BackfillStatus.Paused, result.Status);
        Assert.Equal("stop requested", result.StopReason);
    }
}
