using PartitionOps.Engine.Backfill;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// Runs the callback on the worker's own thread, between batches: lets a test act at an exact point
/// of a run (insert rows, take locks, kill sessions) deterministically.
/// </summary>
internal sealed class InlineProgress(Action<BackfillEvent> onEvent) : IProgress<BackfillEvent>
{
    public List<BackfillEvent> Events { get; } = [];

    public void Report(BackfillEvent value)
    {
        lock (Events) Events.Add(value);
        onEvent(value);
    }
}
