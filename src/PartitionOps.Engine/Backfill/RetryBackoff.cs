namespace PartitionOps.Engine.Backfill;

/// <summary>
/// How long the backfill waits before trying again (a lock wait, a connection fault): doubling from
/// <see cref="First"/> up to <see cref="Longest"/>, with jitter so parallel workers do not retry in step.
/// </summary>
internal static class RetryBackoff
{
    internal static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    internal static readonly TimeSpan Longest = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Reconnect attempts after a connection fault before it counts as the database being gone: with the delays
    /// above about 90 s, longer than a restart or an Azure SQL failover (typically under a minute) takes.
    /// </summary>
    internal const int ReconnectAttempts = 15;

    /// <summary>Attempts are counted from 1; past about seven doublings the delay stays at <see cref="Longest"/>.</summary>
    internal static TimeSpan Delay(int attempt)
    {
        const int maxDoublings = 10;
        const double jitterLow = 0.75, jitterSpan = 0.5;
        var ms = Math.Min(Longest.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, maxDoublings)));
        return TimeSpan.FromMilliseconds(ms * (jitterLow + Random.Shared.NextDouble() * jitterSpan));
    }
}
