using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.Engine.Tests.PowerShell.Backfill;

/// <summary>The text bar of the format views and the Write-Progress records, host-free.</summary>
public class BackfillProgressTextTests
{
    [Theory]
    [InlineData(52.3, "[#####-----] 52.3%")]
    [InlineData(0.0, "[----------] 0.0%")]
    [InlineData(100.0, "[##########] 100.0%")]
    [InlineData(9.99, "[----------] 10.0%")]
    [InlineData(150.0, "[##########] 100.0%")]
    [InlineData(-3.0, "[----------] 0.0%")]
    public void Bar_shows_tenths_and_the_percentage(double percent, string expected) =>
        Assert.Equal(expected, BackfillProgressText.Bar(percent));

    [Fact]
    public void Bar_is_empty_when_unknown_and_takes_a_width()
    {
        Assert.Equal("", BackfillProgressText.Bar(null));
        Assert.Equal("", BackfillProgressText.Bar(double.NaN));
        Assert.Equal("[##--] 50.0%", BackfillProgressText.Bar(50, 4));
    }

    [Fact]
    public void Duration_is_a_clock_with_days()
    {
        Assert.Equal("00:01:05", BackfillProgressText.Duration(TimeSpan.FromSeconds(65)));
        Assert.Equal("2d 03:00:00", BackfillProgressText.Duration(TimeSpan.FromHours(51)));
        Assert.Equal("unknown", BackfillProgressText.Duration(null));
    }

    private static TypeProgress Type(string name, double? percent = 40, TimeSpan? eta = null, string? waiting = null) => new()
    {
        TypeName = name,
        TypeId = 1,
        Status = BackfillStatus.Running,
        EstimatedRows = 40_000,
        RowsScanned = 12_000,
        RowsUpdated = 1_200,
        RowsPerSecond = 3_400.4,
        PercentComplete = percent,
        Eta = eta,
        Waiting = waiting,
    };

    [Fact]
    public void Status_says_rows_walked_moved_rate_and_eta()
    {
        Assert.Equal("running: 12,000 of ~40,000 rows walked, 1,200 moved, 3,400 rows/s, ETA 00:00:08",
            BackfillProgressText.Status(Type("ValueSet", eta: TimeSpan.FromSeconds(8))));
        Assert.EndsWith("ETA unknown, waiting: log used 91%", BackfillProgressText.Status(Type("ValueSet", waiting: "log used 91%")));
    }

    [Fact]
    public void Tracker_gives_each_type_its_own_stable_activity()
    {
        var tracker = new BackfillProgressTracker();
        var a1 = tracker.Update(Type("ValueSet", 10.7, TimeSpan.FromSeconds(2.2)));
        var b = tracker.Update(Type("CodeSystem", null));
        var a2 = tracker.Update(Type("ValueSet", 55));
        Assert.Equal(a1.ActivityId, a2.ActivityId);
        Assert.NotEqual(a1.ActivityId, b.ActivityId);
        Assert.Equal("ValueSet", a1.Activity);
        Assert.Equal(10, a1.PercentComplete);
        Assert.Equal(3, a1.SecondsRemaining);
        Assert.Equal(-1, b.PercentComplete);
        Assert.Equal(-1, b.SecondsRemaining);
        Assert.False(a2.Completed);

        var done = tracker.Complete();
        Assert.Equal(2, done.Count);
        Assert.All(done, d => Assert.True(d.Completed));
        Assert.Equal(new[] { a1.ActivityId, b.ActivityId }.Order(), done.Select(d => d.ActivityId).Order());
    }
}
