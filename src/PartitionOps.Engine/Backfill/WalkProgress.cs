using System.Collections.Concurrent;

namespace PartitionOps.Engine.Backfill;

/// <summary>One type's work in this call: where it is, and what it did (added to its checkpoint's totals).</summary>
internal sealed class TypeState
{
    public required Checkpoint Checkpoint;
    public long LastKey;
    public long HighWaterMark;
    public long Scanned, Updated, Batches, LockWaits;
    public string Status = BackfillStatus.Running;
    public string? Waiting;
    public string? Error;
    public double? LastBatchMs;
    public DateTimeOffset Started = DateTimeOffset.UtcNow;
}

/// <summary>What every worker of one walk call adds up: rows, and the types skipped or failed.</summary>
internal sealed class WalkTally
{
    private long _rowsMoved;
    private long _rowsScanned;

    /// <summary>Types another runner held (or took over while a worker reconnected).</summary>
    public ConcurrentBag<string> Skipped { get; } = [];

    /// <summary>Types that failed in this call, with the error: "ValueSet: trigger refused the update".</summary>
    public ConcurrentQueue<(string Type, string Error)> Failed { get; } = new();

    public long RowsMoved => Interlocked.Read(ref _rowsMoved);

    /// <summary>Rows walked by this call (the checkpoints hold the run's totals over every call).</summary>
    public long RowsScanned => Interlocked.Read(ref _rowsScanned);

    public void Add(long scanned, long moved)
    {
        Interlocked.Add(ref _rowsMoved, moved);
        Interlocked.Add(ref _rowsScanned, scanned);
    }
}

/// <summary>Reports a type's live progress (its checkpoint plus this call's work) as a backfill event.</summary>
internal sealed class WalkProgress(IProgress<BackfillEvent>? events)
{
    public void Report(TypeState state, long? estimate, int? batchSize = null)
    {
        if (events is null) return;
        var cp = state.Checkpoint;
        var live = cp with
        {
            LastKey = state.LastKey, HighWaterMark = state.HighWaterMark, Status = state.Status,
            RowsScanned = cp.RowsScanned + state.Scanned, RowsUpdated = cp.RowsUpdated + state.Updated,
            Batches = cp.Batches + state.Batches, LockWaits = cp.LockWaits + state.LockWaits,
            StartedAt = cp.StartedAt ?? state.Started, UpdatedAt = DateTimeOffset.UtcNow,
        };
        // Rate over this session's work only, so a resumed run does not count the pause.
        var progress = live.ToProgress(estimate, DateTimeOffset.UtcNow, state.Waiting, batchSize, state.LastBatchMs);
        if (state.Error is { } error) progress = progress with { LastError = error };
        var seconds = (DateTimeOffset.UtcNow - state.Started).TotalSeconds;
        if (seconds > 0 && state.Scanned > 0)
        {
            var rate = state.Scanned / seconds;
            progress = progress with
            {
                RowsPerSecond = rate,
                Eta = progress.Status == BackfillStatus.Done ? TimeSpan.Zero
                    : progress.EstimatedRows is { } total ? TimeSpan.FromSeconds(Math.Max(0, total - progress.RowsScanned) / rate) : null,
            };
        }
        events.Report(new BackfillEvent("backfill",
            $"{cp.TypeName}: {progress.RowsScanned:N0} rows walked, {progress.RowsUpdated:N0} moved", progress));
    }

    public void Say(string message) => events?.Report(new("backfill", message));
}
