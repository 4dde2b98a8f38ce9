using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// One runner at a time through phases 1 and 2 and the opening of the run of a table: a session-level
/// application lock on the main connection (the same kind that guards each type in phase 3). A second runner
/// started meanwhile waits for it, says so, and then plans again from the catalog, finding the work done.
/// A runner that dies releases it with its session.
/// </summary>
internal sealed class SetupLock(MainSession session, BackfillContext context, BackfillRequest request, Stopwatch clock,
    IProgress<BackfillEvent>? events)
{
    /// <summary>Appended to the table's lock resource; no type name has parentheses.</summary>
    internal const string ResourceSuffix = "(setup)";

    /// <summary>How often a waiting runner asks for the lock again (phase 2 can take long; the ask is cheap).</summary>
    internal static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly string _resource = context.Table.LockResource(ResourceSuffix);
    private bool _held;

    /// <summary>
    /// False: granted at once. True: granted after waiting for another runner (its work may be done now).
    /// Null: --max-duration was reached while waiting (nothing was changed).
    /// </summary>
    public async Task<bool?> AcquireAsync(CancellationToken ct)
    {
        for (var waited = false; ; waited = true)
        {
            var granted = await session.RunAsync("start", (c, t) => c.ScalarAsync<int>(context.Provider,
                context.Dialect.TryAcquireAppLock(_resource), t), ct).ConfigureAwait(false);
            if (granted == 1)
            {
                _held = true;
                if (waited) events?.Report(new("start", $"the other runner finished setting up {context.Display}; going on"));
                return waited;
            }
            if (!waited)
                events?.Report(new("start",
                    $"another runner is adding the column, building the indexes or opening the run of {context.Display}: " +
                    "waiting for it to finish that"));
            if (request.MaxDuration is { } max && clock.Elapsed + PollInterval >= max) return null;
            await Task.Delay(PollInterval, ct).ConfigureAwait(false);
        }
    }

    public async Task ReleaseAsync()
    {
        if (!_held) return;
        _held = false;
        try
        {
            await session.Connection.ExecuteAsync(context.Provider, context.Dialect.ReleaseAppLock(_resource),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (DbException) { /* a lost session has released it already */ }
    }
}

/// <summary>Application locks of the backfill, as seen from outside.</summary>
internal static class AppLocks
{
    /// <summary>
    /// True when another session holds <paramref name="resource"/> now: probed without waiting, and let go at once when
    /// it was free. (A worker asking for it in that instant skips its type; the run then ends paused and the next
    /// start walks it. Probes are rare: stop, and the end of a run that is not done.)
    /// </summary>
    public static async Task<bool> HeldElsewhereAsync(DbConnection connection, BackfillContext context, string resource,
        CancellationToken ct)
    {
        var free = await connection.ScalarAsync<int>(context.Provider, context.Dialect.TryAcquireAppLock(resource), ct)
            .ConfigureAwait(false) == 1;
        if (free)
            await connection.ExecuteAsync(context.Provider, context.Dialect.ReleaseAppLock(resource), ct)
                .ConfigureAwait(false);
        return !free;
    }
}
