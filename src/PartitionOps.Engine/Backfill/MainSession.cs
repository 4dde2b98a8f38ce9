using System.Data.Common;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// The runner's own connection (phases 1 and 2, the run's rows in the control tables). A connection fault
/// (a server restart, a failover, a terminated session) reconnects with <see cref="RetryBackoff"/> and runs
/// the interrupted work again, so every piece of work given to <see cref="RunAsync{T}"/> must be safe to repeat.
/// </summary>
internal sealed class MainSession : IAsyncDisposable
{
    private readonly DatabaseTarget _target;
    private readonly IProgress<BackfillEvent>? _events;

    private MainSession(DatabaseTarget target, DbConnection connection, IProgress<BackfillEvent>? events)
    {
        _target = target;
        Connection = connection;
        _events = events;
    }

    public DbConnection Connection { get; private set; }

    public static async Task<MainSession> OpenAsync(DatabaseTarget target, IProgress<BackfillEvent>? events, CancellationToken ct) =>
        new(target, await target.OpenAsync(ct).ConfigureAwait(false), events);

    /// <summary>Runs <paramref name="work"/> on the session; after a connection fault reconnects and runs it again.</summary>
    public async Task<T> RunAsync<T>(string phase, Func<DbConnection, CancellationToken, Task<T>> work, CancellationToken ct)
    {
        for (var faults = 1; ; faults++)
        {
            try
            {
                return await work(Connection, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (faults <= RetryBackoff.ReconnectAttempts && IsConnectionFault(e))
            {
                await ReconnectAsync(phase, e, ct).ConfigureAwait(false);
            }
        }
    }

    public Task RunAsync(string phase, Func<DbConnection, CancellationToken, Task> work, CancellationToken ct) =>
        RunAsync(phase, async (c, token) => { await work(c, token).ConfigureAwait(false); return true; }, ct);

    public bool IsConnectionFault(Exception e) => _target.Provider.Errors.Classify(e) == ErrorKind.Transient;

    /// <summary>
    /// Replaces the broken connection. Throws the last fault when the server stays unreachable for
    /// <see cref="RetryBackoff.ReconnectAttempts"/> attempts (the run then ends failed, and resumes on the next start).
    /// </summary>
    public async Task ReconnectAsync(string phase, Exception fault, CancellationToken ct)
    {
        _events?.Report(new(phase, $"connection fault ({fault.Message.Trim()}), reconnecting"));
        Connection = await ReopenAsync(_target, Connection, ct).ConfigureAwait(false);
        _events?.Report(new(phase, "reconnected"));
    }

    /// <summary>Disposes <paramref name="broken"/> and opens a new connection, trying up to
    /// <see cref="RetryBackoff.ReconnectAttempts"/> times.</summary>
    internal static async Task<DbConnection> ReopenAsync(DatabaseTarget target, DbConnection? broken, CancellationToken ct)
    {
        if (broken is not null)
        {
            target.Provider.ClearPool(broken);
            await broken.DisposeAsync().ConfigureAwait(false);
        }
        for (var attempt = 1; ; attempt++)
        {
            await Task.Delay(RetryBackoff.Delay(attempt), ct).ConfigureAwait(false);
            try
            {
                return await target.OpenAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < RetryBackoff.ReconnectAttempts && target.Provider.Errors.Classify(e) == ErrorKind.Transient)
            {
                // The server is still down or starting up: wait longer.
            }
        }
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
