using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// A stop condition (the run's time limit) was met inside a worker's lock-wait retry, between two attempts of a
/// statement: nothing is in flight, so the type pauses cleanly like a stop met between batches. The reason is in
/// <see cref="WalkStop.Reason"/>. Not an <see cref="OperationCanceledException"/>: nobody cancelled anything.
/// </summary>
internal sealed class WalkStoppedException : Exception;

/// <summary>
/// The stop flag in backfill_control: set by a stop request (any host), read by every worker between batches and
/// cleared when a run starts.
/// </summary>
internal static class StopFlag
{
    public static Task SetAsync(DbConnection connection, BackfillContext context, bool stop, string requestedBy, CancellationToken ct) =>
        connection.ExecuteAsync(context.Provider, context.Dialect.SetStopFlag(context.Table, stop, requestedBy), ct);

    public static SqlStatement Read(BackfillContext context) =>
        context.Dialect.ReadStopFlag(context.Table);
}

/// <summary>
/// Why every worker of a walk stops: the time limit, the stop flag, Ctrl+C, the database gone. A type failing on its
/// own does not set it: the other types go on. The first reason recorded is kept.
/// </summary>
internal sealed class WalkStop(BackfillContext context, BackfillRequest request, Stopwatch clock)
{
    /// <summary>How often a worker reads the stop flag, at most (it reads it between batches).</summary>
    internal static readonly TimeSpan FlagCheckInterval = TimeSpan.FromSeconds(1);

    private volatile string? _reason;

    public string? Reason => _reason;

    /// <summary>Records why the walk stops, unless a reason was recorded already.</summary>
    public void Set(string reason) => _reason ??= reason;

    /// <summary>True (and the reason recorded) when the run's time limit has passed.</summary>
    public bool MaxDurationReached()
    {
        if (request.MaxDuration is not { } max || clock.Elapsed < max) return false;
        Set($"max duration {max} reached");
        return true;
    }

    /// <summary>
    /// Whether a worker stops before its next batch; reads the stop flag through <paramref name="worker"/> when
    /// <paramref name="readFlag"/> (the caller spaces the reads by <see cref="FlagCheckInterval"/>).
    /// </summary>
    public async Task<bool> ShouldStopAsync(TypeWorker worker, TypeState state, bool readFlag, CancellationToken ct)
    {
        if (_reason != null) return true;
        if (ct.IsCancellationRequested) { Set("cancelled"); return true; }
        if (MaxDurationReached()) return true;
        if (!readFlag) return false;
        var flag = await worker.ScalarAsync<int>(state, StopFlag.Read(context), ct).ConfigureAwait(false);
        if (flag != 1) return false;
        Set("stop requested");
        return true;
    }
}
