using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>How phase 3 schedules its work: smallest types first, at most --parallel at once, --delay-ms between batches.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillSchedulingTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    /// <summary>Per type, in order: the first and the last progress event (a type reports its start with its first batch).</summary>
    private static List<string> StartOrder(InlineProgress progress) =>
        progress.Events.Where(e => e.Type is not null).Select(e => e.Type!.TypeName).Distinct().ToList();

    [Fact]
    public async Task Types_start_smallest_first_by_their_catalog_estimate()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        await _service.StartAsync(db.Request() with { SkipBackfill = true });
        var plan = await _service.StartAsync(db.Request() with { DryRun = true, SkipColumn = true, SkipIndexes = true });
        var expected = plan.Types.OrderBy(t => t.EstimatedRows).ThenBy(t => t.TypeName, StringComparer.Ordinal).Select(t => t.TypeName)
            .ToList();
        Assert.Equal(7, expected.Count);
        Assert.True(plan.Types.Select(t => t.EstimatedRows).Distinct().Count() > 1, "the sample's types should differ in size");

        var progress = new InlineProgress(_ => { });
        var result = await _service.StartAsync(db.Request(batchSize: 200) with { TargetBatchTime = TimeSpan.Zero }, progress);

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.Equal(expected, StartOrder(progress));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Never_more_than_parallel_types_run_at_once(int parallel)
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        await _service.StartAsync(db.Request() with { SkipBackfill = true });
        var running = new HashSet<string>();
        var most = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Type is null) return;
            lock (running)
            {
                // A type runs from its first report to its last ('done'): a slot is freed only after that report.
                if (e.Type.Status == BackfillStatus.Done) running.Remove(e.Type.TypeName);
                else running.Add(e.Type.TypeName);
                most = Math.Max(most, running.Count);
            }
        });

        var result = await _service.StartAsync(db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero, Parallelism = parallel },
            progress);

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.InRange(most, 1, parallel);
        if (parallel > 1) Assert.True(most > 1, $"expected types to overlap with --parallel {parallel}, saw at most {most}");
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task The_delay_is_waited_after_every_batch()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 5_000, types: 12);
        await _service.StartAsync(db.Request() with { SkipBackfill = true });
        var delay = TimeSpan.FromMilliseconds(40);

        var result = await _service.StartAsync(
            db.Request(batchSize: 50) with { TargetBatchTime = TimeSpan.Zero, Delay = delay, Parallelism = 1 });

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.True(result.Batches >= 5, $"only {result.Batches} batches");
        // One worker: its delays add up, so phase 3 took at least batches x delay (a lower bound only).
        Assert.True(result.Phase3Elapsed >= result.Batches * delay,
            $"{result.Batches} batches x {delay.TotalMilliseconds} ms > {result.Phase3Elapsed.TotalMilliseconds:0} ms elapsed");
    }
}
