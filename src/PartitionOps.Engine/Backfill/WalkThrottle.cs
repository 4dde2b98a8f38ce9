using System.Diagnostics;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// One worker's throttle: every <see cref="ThrottleOptions.CheckInterval"/> it reads the server's signals (replica
/// lag, log use, sessions blocked by us) and the custom throttle query, and says how long to wait when one is over
/// its limit. Limits that are off are not checked; with all of them off nothing is read at all.
/// </summary>
internal sealed class WalkThrottle(BackfillContext context, ThrottleOptions limits, Stopwatch clock)
{
    /// <summary>A time long before the run started (TimeSpan.MinValue would overflow in subtraction).</summary>
    internal static readonly TimeSpan NeverChecked = TimeSpan.FromDays(-365);

    /// <summary>The longest a custom throttle query can ask a worker to wait at once.</summary>
    internal static readonly TimeSpan LongestCustomWait = TimeSpan.FromSeconds(60);

    private TimeSpan _lastCheck = NeverChecked;

    /// <summary>True when a limit is on and the last check is at least the check interval old.</summary>
    public bool Due => !limits.AllOff && clock.Elapsed - _lastCheck >= limits.CheckInterval;

    /// <summary>After a wait, the next batch checks again first.</summary>
    public void CheckAgainNow() => _lastCheck = NeverChecked;

    /// <summary>Null when no limit is passed; else why and how long to wait.</summary>
    public async Task<(string Reason, TimeSpan Duration)?> CheckAsync(TypeWorker worker, TypeState state, CancellationToken ct)
    {
        var wait = await ReadAsync(worker, state, ct).ConfigureAwait(false);
        _lastCheck = clock.Elapsed;
        return wait;
    }

    private async Task<(string Reason, TimeSpan Duration)?> ReadAsync(TypeWorker worker, TypeState state, CancellationToken ct)
    {
        var signals = limits is { MaxReplicaLagSeconds: null, MaxLogUsedPercent: null, MaxBlockedSessions: null }
            ? []
            : await worker.RetryingAsync(state, null, (c, token) => c.QueryAsync(context.Provider, context.Dialect.ThrottleSignals(),
                r => (Signal: r.Get<string>("signal")!, Value: r.Get<double>("value")), token), ct).ConfigureAwait(false);
        foreach (var (signal, value) in signals)
        {
            double? limit = signal switch
            {
                "replica_lag_seconds" => limits.MaxReplicaLagSeconds,
                "log_used_percent" => limits.MaxLogUsedPercent,
                "blocked_by_us" => limits.MaxBlockedSessions,
                _ => null,
            };
            if (limit is { } l && value > l) return ($"{signal} {value:0.##} > {l:0.##}", limits.Pause);
        }
        if (limits.CustomQuery is { } query)
        {
            var ms = await worker.ScalarAsync<double?>(state, new SqlStatement(query), ct).ConfigureAwait(false);
            if (ms is > 0)
                return ($"throttle query asked for {ms:0} ms",
                    TimeSpan.FromMilliseconds(Math.Min(ms.Value, LongestCustomWait.TotalMilliseconds)));
        }
        return null;
    }
}
