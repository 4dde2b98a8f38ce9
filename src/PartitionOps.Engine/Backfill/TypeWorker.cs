using System.Data.Common;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>The type's application lock went to another runner while this one reconnected.</summary>
internal sealed class TypeLostException : Exception;

/// <summary>What the workers of one walk share: the table, the request, the stop, the run's rows, progress, totals.</summary>
internal sealed record WalkParts(
    BackfillContext Context, BackfillRequest Request, System.Diagnostics.Stopwatch Clock, WalkStop Stop, RunCheckpoints Checkpoints,
    WalkProgress Progress, WalkTally Tally);

/// <summary>
/// One type's session: holds the type's application lock for as long as it lives, and reconnects
/// (taking the lock again) after a transient fault. Lock timeouts and deadlocks wait and retry.
/// </summary>
internal sealed class TypeWorker(WalkParts parts, string typeName) : IAsyncDisposable
{
    private readonly IDatabaseProvider _provider = parts.Context.Provider;
    private readonly IBackfillDialect _dialect = parts.Context.Dialect;
    private readonly string _resource = parts.Context.Table.LockResource(typeName);

    public DbConnection Connection { get; private set; } = null!;

    /// <summary>Opens the type's session (retrying while the server is away, as after a restart) and takes its lock.</summary>
    public async Task<bool> ConnectAsync(CancellationToken ct)
    {
        for (var faults = 0; ; faults++)
        {
            try
            {
                Connection = faults == 0
                    ? await parts.Context.Target.OpenAsync(ct).ConfigureAwait(false)
                    : await MainSession.ReopenAsync(parts.Context.Target, Connection, ct).ConfigureAwait(false);
                return await PrepareAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (faults < RetryBackoff.ReconnectAttempts && IsTransient(e))
            {
                parts.Progress.Say($"{_resource}: cannot connect ({e.Message.Trim()}), trying again");
            }
        }
    }

    /// <summary>
    /// Runs one statement of this type's work; lock timeouts and deadlocks wait and retry (smaller
    /// batches), transient faults reconnect. Throws <see cref="TypeLostException"/> when the type's
    /// lock went to another runner while reconnecting, <see cref="WalkStoppedException"/> when the time
    /// limit passed during a lock wait.
    /// </summary>
    public async Task<T> RetryingAsync<T>(TypeState state, BatchSizeController? controller,
        Func<DbConnection, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        var transientFailures = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Not cancelled mid-statement by Ctrl+C: the batch finishes (or rolls back) whole.
                return await work(Connection, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (_provider.Errors.Classify(e) is ErrorKind.LockTimeout or ErrorKind.Deadlock)
            {
                await WaitOutLockAsync(state, controller, _provider.Errors.Classify(e), attempt, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e) && ++transientFailures <= RetryBackoff.ReconnectAttempts)
            {
                await ReconnectAsync(state, e, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs a statement of this type through <see cref="RetryingAsync{T}"/>.</summary>
    public Task<int> ExecuteAsync(TypeState state, SqlStatement statement, CancellationToken ct) =>
        RetryingAsync(state, null, (c, token) => c.ExecuteAsync(_provider, statement, token), ct);

    public Task<T?> ScalarAsync<T>(TypeState state, SqlStatement statement, CancellationToken ct) =>
        RetryingAsync(state, null, (c, token) => c.ScalarAsync<T>(_provider, statement, token), ct);

    public async ValueTask DisposeAsync()
    {
        if (Connection is null) return;
        try
        {
            if (Connection.State == System.Data.ConnectionState.Open)
                await Connection.ExecuteAsync(_provider, _dialect.ReleaseAppLock(_resource), CancellationToken.None)
                    .ConfigureAwait(false);
        }
        catch (DbException) { /* the lock ends with the session anyway */ }
        await Connection.DisposeAsync().ConfigureAwait(false);
    }

    private bool IsTransient(Exception e) => _provider.Errors.Classify(e) == ErrorKind.Transient;

    /// <summary>Session settings and the type's lock on a new connection: false when another runner holds the type.</summary>
    private async Task<bool> PrepareAsync(CancellationToken ct)
    {
        await Connection.ExecuteAsync(_provider, _dialect.SetLockTimeout(parts.Request.BatchLockTimeout), ct).ConfigureAwait(false);
        return await Connection.ScalarAsync<int>(_provider, _dialect.TryAcquireAppLock(_resource), ct)
            .ConfigureAwait(false) == 1;
    }

    /// <summary>A lock wait or deadlock: the statement rolled back whole. Counts it, backs off (smaller batches) and waits.</summary>
    private async Task WaitOutLockAsync(TypeState state, BatchSizeController? controller, ErrorKind kind, int attempt,
        CancellationToken ct)
    {
        state.LockWaits++;
        controller?.Backoff();
        state.Waiting = $"{(kind == ErrorKind.Deadlock ? "deadlock" : "lock wait")}, retry {attempt}";
        parts.Progress.Report(state, null, controller?.Current);
        await Connection.ExecuteAsync(_provider, parts.Checkpoints.LockWait(state), CancellationToken.None).ConfigureAwait(false);
        await Task.Delay(RetryBackoff.Delay(attempt), ct).ConfigureAwait(false);
        if (parts.Stop.MaxDurationReached()) throw new WalkStoppedException();
    }

    /// <summary>
    /// A restart, a failover or a terminated session: the statement rolled back whole. A new connection (after back-off;
    /// it throws when the server stays away) takes the type's lock again, then the statement runs again.
    /// </summary>
    private async Task ReconnectAsync(TypeState state, Exception fault, CancellationToken ct)
    {
        parts.Progress.Say($"{state.Checkpoint.TypeName}: connection fault ({fault.Message.Trim()}), reconnecting");
        Connection = await MainSession.ReopenAsync(parts.Context.Target, Connection, ct).ConfigureAwait(false);
        bool granted;
        try { granted = await PrepareAsync(ct).ConfigureAwait(false); }
        catch (Exception again) when (IsTransient(again)) { return; }
        if (granted) return;
        parts.Tally.Skipped.Add(state.Checkpoint.TypeName);
        throw new TypeLostException();
    }
}
