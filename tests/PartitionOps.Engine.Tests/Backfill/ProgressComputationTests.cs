using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Tests.Backfill;

/// <summary>Progress figures from a checkpoint row (no database): rate, total, percent, ETA; and what `stop` says.</summary>
public sealed class ProgressComputationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static Checkpoint Row(string status, long scanned, TimeSpan worked, long? estimate = null) => new()
    {
        RunId = 1, TypeId = 4, TypeName = "ValueSet", Status = status, RowsScanned = scanned, RowsUpdated = scanned,
            EstimatedRows = estimate,
        StartedAt = T0, UpdatedAt = T0 + worked, LastKey = 10,
    };

    [Fact]
    public void The_last_rows_of_a_catch_up_have_an_eta_of_zero_not_the_whole_types_estimate_over_the_rate()
    {
        // A rerun: the type's statistics say a million rows (walked by the run before); this run caught up 300 so far.
        var progress = Row(BackfillStatus.CatchUp, 300, TimeSpan.FromSeconds(1)).ToProgress(1_000_000, T0 + TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.Zero, progress.Eta);
        Assert.Equal(300, progress.EstimatedRows);
        Assert.Equal(99.9, progress.PercentComplete);
        Assert.Equal(300, progress.RowsPerSecond!.Value, 6);
    }

    [Theory]
    [InlineData(BackfillStatus.Sweep)]
    [InlineData(BackfillStatus.CatchUp)]
    public void A_tail_phase_never_counts_rows_already_walked_as_left(string status) =>
        Assert.Equal(TimeSpan.Zero, Row(status, 10, TimeSpan.FromSeconds(10)).ToProgress(50_000, T0 + TimeSpan.FromSeconds(10)).Eta);

    [Fact]
    public void While_walking_the_eta_is_the_rows_left_of_the_estimate_over_the_working_rate()
    {
        // 34,000 rows in one second of work (started_at leaves pauses out); 68,000 estimated.
        var progress = Row(BackfillStatus.Running, 34_000, TimeSpan.FromSeconds(1)).ToProgress(68_000, T0 + TimeSpan.FromSeconds(1));

        Assert.Equal(34_000, progress.RowsPerSecond!.Value, 6);
        Assert.Equal(TimeSpan.FromSeconds(1), progress.Eta);
        Assert.Equal(50, progress.PercentComplete!.Value, 6);
    }

    [Fact]
    public void A_paused_type_is_rated_up_to_its_last_update_not_up_to_now()
    {
        var progress = Row(BackfillStatus.Paused, 34_000, TimeSpan.FromSeconds(1)).ToProgress(68_000, T0 + TimeSpan.FromHours(2));
        Assert.Equal(34_000, progress.RowsPerSecond!.Value, 6);
    }

    private static BackfillStopRequest Stop(string? status, IReadOnlyList<string>? working = null, bool settingUp = false) => new()
    {
        Table = "public.Resource", Column = "PartitionId", ControlSchema = "partitionops", RequestedBy = "h:1",
        RunId = status is null ? null : 7, RunStatus = status, WorkingTypes = working ?? [], SettingUp = settingUp,
    };

    [Fact]
    public void Stop_never_says_nothing_to_pause_while_a_runner_holds_a_type_whatever_the_runs_row_says()
    {
        var stop = Stop(BackfillStatus.Paused, ["ValueSet"]);
        Assert.True(stop.RunInProgress);
        Assert.DoesNotContain("nothing to pause", stop.Summary);
        Assert.Contains("ValueSet being walked", stop.Summary);
    }

    [Fact]
    public void Stop_during_phase_1_or_2_says_the_runner_pauses_once_it_walks()
    {
        var stop = Stop(null, settingUp: true);
        Assert.True(stop.RunInProgress);
        Assert.Contains("phase 1 or 2", stop.Summary);
    }

    [Fact]
    public void Stop_with_nobody_working_and_a_finished_run_has_nothing_to_pause()
    {
        var stop = Stop(BackfillStatus.Done);
        Assert.False(stop.RunInProgress);
        Assert.Contains("nothing to pause", stop.Summary);
    }
}
