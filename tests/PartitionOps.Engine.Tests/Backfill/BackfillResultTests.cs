using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Tests.Backfill;

public sealed class BackfillResultTests
{
    private static TypeProgress Type(long scanned) =>
        new() { TypeName = "ValueSet", TypeId = 4, Status = BackfillStatus.Done, RowsScanned = scanned };

    [Fact]
    public void The_rate_is_phase_3_rows_of_this_call_over_phase_3_time_only()
    {
        // Ten minutes in all, nine of them building indexes; 60,000 rows walked in the last minute, on top of
        // 40,000 walked by an earlier call of the same run.
        var result = new BackfillResult
        {
            Status = BackfillStatus.Done,
            Types = [Type(100_000)],
            Elapsed = TimeSpan.FromMinutes(10),
            Phase3Elapsed = TimeSpan.FromMinutes(1),
            Phase3RowsScanned = 60_000,
        };
        Assert.Equal(1_000, result.RowsPerSecond, 6);
        Assert.Equal(100_000, result.RowsScanned);
    }

    [Fact]
    public void No_phase_3_means_no_rate() =>
        Assert.Equal(0, new BackfillResult { Status = BackfillStatus.Done, Elapsed = TimeSpan.FromMinutes(3),
            Types = [Type(5)] }.RowsPerSecond);
}
