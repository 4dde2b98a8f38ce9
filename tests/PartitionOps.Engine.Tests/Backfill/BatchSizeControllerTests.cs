using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Tests.Backfill;

public sealed class BatchSizeControllerTests
{
    private static readonly TimeSpan Target = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void Fast_batches_grow_at_most_double_per_step_toward_the_target()
    {
        var c = new BatchSizeController(1000, Target, 100, 50_000);
        // 1000 rows in 50 ms = 20 rows/ms: the target wants 10,000, one step allows 2,000.
        Assert.Equal(2000, c.Observe(1000, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(4000, c.Observe(2000, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(8000, c.Observe(4000, TimeSpan.FromMilliseconds(200)));
        Assert.Equal(10_000, c.Observe(8000, TimeSpan.FromMilliseconds(400)));
    }

    [Fact]
    public void Slow_batches_shrink_at_most_by_half_per_step()
    {
        var c = new BatchSizeController(4000, Target, 100, 50_000);
        // 4000 rows in 4 s = 1 row/ms: the target wants 500; one step allows 2,000.
        Assert.Equal(2000, c.Observe(4000, TimeSpan.FromSeconds(4)));
        // The smoothed rate (1 and 1) keeps pulling down.
        Assert.Equal(1000, c.Observe(2000, TimeSpan.FromSeconds(2)));
        Assert.Equal(500, c.Observe(1000, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void The_size_stays_within_its_bounds()
    {
        var c = new BatchSizeController(3000, Target, 100, 4000);
        Assert.Equal(4000, c.Observe(3000, TimeSpan.FromMilliseconds(1)));
        Assert.Equal(4000, c.Observe(4000, TimeSpan.FromMilliseconds(1)));
        var slow = new BatchSizeController(150, Target, 100, 4000);
        Assert.Equal(100, slow.Observe(150, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_short_last_batch_does_not_make_it_grow()
    {
        var c = new BatchSizeController(1000, Target, 100, 50_000);
        Assert.Equal(1000, c.Observe(10, TimeSpan.FromMilliseconds(1)));
    }

    [Fact]
    public void Zero_target_keeps_the_size_fixed_and_backoff_halves_it()
    {
        var c = new BatchSizeController(1000, TimeSpan.Zero, 100, 50_000);
        Assert.Equal(1000, c.Observe(1000, TimeSpan.FromMilliseconds(1)));
        Assert.Equal(500, c.Backoff());
        Assert.Equal(250, c.Backoff());
        Assert.Equal(125, c.Backoff());
        Assert.Equal(100, c.Backoff());
        Assert.Equal(100, c.Backoff());
    }
}
