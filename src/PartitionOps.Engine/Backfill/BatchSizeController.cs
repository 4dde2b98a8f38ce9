namespace PartitionOps.Engine.Backfill;

/// <summary>
/// Adapts the batch size toward a target batch time: the measured rows/second (smoothed) times the
/// target, moving at most by half or double per step, within [min, max]. Lock waits halve it.
/// </summary>
public sealed class BatchSizeController
{
    private readonly TimeSpan _target;
    private double? _rowsPerMs;

    public BatchSizeController(int initial, TimeSpan target, int min, int max)
    {
        if (min < 1 || max < min) throw new ArgumentOutOfRangeException(nameof(min));
        Min = min;
        Max = max;
        _target = target;
        Current = Math.Clamp(initial, min, max);
    }

    /// <summary>The smallest batch the controller starts from, at most: it grows from there toward the target time.</summary>
    internal const int SmallestStart = 100;

    /// <summary>
    /// A type's batch-size controller: starts at the request's batch size, adapts toward its target batch time, and never
    /// goes above the dialect's <see cref="IBackfillDialect.SafeMaxBatchSize"/> (SQL Server: below lock escalation),
    /// whatever was asked.
    /// </summary>
    internal static BatchSizeController For(BackfillRequest request, IBackfillDialect dialect) =>
        new(request.BatchSize, request.TargetBatchTime,
            Math.Min(SmallestStart, Math.Min(request.BatchSize, dialect.SafeMaxBatchSize)), dialect.SafeMaxBatchSize);

    public int Current { get; private set; }
    public int Min { get; }
    public int Max { get; }

    /// <summary>Feeds one finished batch: <paramref name="rows"/> scanned in <paramref name="elapsed"/>.</summary>
    public int Observe(int rows, TimeSpan elapsed)
    {
        if (_target <= TimeSpan.Zero || rows <= 0) return Current;
        var ms = Math.Max(elapsed.TotalMilliseconds, 0.05);
        var rate = rows / ms;
        _rowsPerMs = _rowsPerMs is { } old ? 0.5 * old + 0.5 * rate : rate;
        // A short final batch says little about the rate at full size: do not grow on it.
        if (rows < Current && _rowsPerMs * _target.TotalMilliseconds > Current) return Current;
        var desired = _rowsPerMs.Value * _target.TotalMilliseconds;
        var bounded = Math.Clamp(desired, Current / 2.0, Current * 2.0);
        Current = (int)Math.Clamp(Math.Round(bounded), Min, Max);
        return Current;
    }

    /// <summary>A lock wait or deadlock: smaller batches hold fewer locks for less time.</summary>
    public int Backoff()
    {
        Current = Math.Max(Min, Current / 2);
        return Current;
    }
}
