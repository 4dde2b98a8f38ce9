using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// One type's walk on its own worker: batches up to the high-water mark, catch-up above it, then the sweep
/// behind it, with the stop conditions and the throttle looked at between batches. A failure of this type
/// marks it failed and leaves the other types going.
/// </summary>
internal sealed class TypeWalk(WalkParts parts, Checkpoint checkpoint, long? estimate, bool finalPass)
{
    /// <summary>Command timeout of one batch or sweep statement: far above any sane batch, short of hanging forever.</summary>
    internal const int StatementTimeoutSeconds = 600;

    private readonly IDatabaseProvider _provider = parts.Context.Provider;
    private readonly IBackfillDialect _dialect = parts.Context.Dialect;
    private readonly int _target = parts.Context.TargetValue(parts.Request.Direction);
    private readonly int _source = parts.Context.SourceValue(parts.Request.Direction);
    private readonly BatchSizeController _controller = BatchSizeController.For(parts.Request, parts.Context.Dialect);
    private readonly WalkThrottle _throttle = new(parts.Context, parts.Request.Throttle, parts.Clock);
    private readonly TypeState _state = new()
    {
        Checkpoint = checkpoint,
        LastKey = checkpoint.LastKey,
        HighWaterMark = checkpoint.HighWaterMark ?? Checkpoint.StartKey,
    };
    private TypeWorker _worker = null!;
    private TimeSpan _lastFlagCheck = WalkThrottle.NeverChecked;

    public async Task RunAsync(CancellationToken ct)
    {
        await using var worker = new TypeWorker(parts, checkpoint.TypeName);
        _worker = worker;
        if (!await worker.ConnectAsync(ct).ConfigureAwait(false))
        {
            parts.Tally.Skipped.Add(checkpoint.TypeName);
            parts.Progress.Say($"{checkpoint.TypeName}: another runner holds it, skipped");
            return;
        }
        await SetStatusAsync(FirstStatus(), null, ct).ConfigureAwait(false);
        try
        {
            await WalkAsync(ct).ConfigureAwait(false);
        }
        catch (TypeLostException)
        {
            parts.Progress.Say($"{checkpoint.TypeName}: another runner took it over while reconnecting");
        }
        catch (WalkStoppedException)
        {
            // Between two attempts of a statement (a lock wait): its last attempt rolled back whole, so the checkpoint
            // matches the data. Paused like a stop between batches.
            _state.Waiting = null;
            try { await SetStatusAsync(BackfillStatus.Paused, null, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is DbException or WalkStoppedException) { /* stays 'running': the next start resumes it */ }
            parts.Progress.Report(_state, estimate);
        }
        catch (Exception e) when (e is not OperationCanceledException && _provider.Errors.Classify(e) != ErrorKind.Canceled)
        {
            await FailAsync(e).ConfigureAwait(false);
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            parts.Stop.Set("cancelled");
            try { await SetStatusAsync(BackfillStatus.Paused, null, CancellationToken.None).ConfigureAwait(false); }
            catch (DbException) { /* stays 'running': the next start resumes it all the same */ }
            parts.Progress.Report(_state, estimate);
        }
    }

    /// <summary>
    /// A final pass starts with the sweep behind the checkpoint, then looks above the high-water mark. A rerun's type
    /// starts where the previous run ended (not at the start key, nothing walked yet): all it walks is rows inserted
    /// since, so it is a catch-up from the start (and progress does not count the rows walked before as still to do).
    /// </summary>
    private string FirstStatus()
    {
        var rerun = checkpoint.LastKey != Checkpoint.StartKey && checkpoint is { RowsScanned: 0, Status: BackfillStatus.Pending };
        return finalPass ? BackfillStatus.Sweep
            : rerun || checkpoint.Status == BackfillStatus.CatchUp ? BackfillStatus.CatchUp
            : BackfillStatus.Running;
    }

    private async Task WalkAsync(CancellationToken ct)
    {
        while (true)
        {
            // Stop conditions are only looked at between batches: a batch always commits or rolls back whole.
            if (await ShouldStopAsync(ct).ConfigureAwait(false))
            {
                await SetStatusAsync(BackfillStatus.Paused, null, CancellationToken.None).ConfigureAwait(false);
                parts.Progress.Report(_state, estimate);
                return;
            }
            if (_throttle.Due)
            {
                var wait = await _throttle.CheckAsync(_worker, _state, ct).ConfigureAwait(false);
                if (wait is { } w)
                {
                    _state.Waiting = w.Reason;
                    parts.Progress.Report(_state, estimate);
                    await Task.Delay(w.Duration, ct).ConfigureAwait(false);
                    _throttle.CheckAgainNow();
                    continue;
                }
                _state.Waiting = null;
            }
            if (_state.Status is BackfillStatus.Running or BackfillStatus.CatchUp)
                await BatchAsync(ct).ConfigureAwait(false);
            else if (await SweepAsync(ct).ConfigureAwait(false))
                return;
        }
    }

    private Task<bool> ShouldStopAsync(CancellationToken ct)
    {
        var readFlag = parts.Clock.Elapsed - _lastFlagCheck >= WalkStop.FlagCheckInterval;
        if (readFlag) _lastFlagCheck = parts.Clock.Elapsed;
        return parts.Stop.ShouldStopAsync(_worker, _state, readFlag, ct);
    }

    /// <summary>One batch above the checkpoint; at the high-water mark, catch-up above it or on to the sweep.</summary>
    private async Task BatchAsync(CancellationToken ct)
    {
        var batch = _dialect.Batch(parts.Context.Table, checkpoint.RunId, checkpoint.TypeId, _state.LastKey, _state.HighWaterMark,
            _controller.Current, _target);
        var watch = Stopwatch.StartNew();
        var (end, scanned, updated) = await _worker.RetryingAsync(_state, _controller, async (conn, token) =>
            (await conn.QueryAsync(_provider, batch,
                r => (End: r.Get<long?>("range_end"), Scanned: r.Get<int>("rows_scanned"), Updated: r.Get<int>("rows_updated")),
                token, timeoutSeconds: StatementTimeoutSeconds).ConfigureAwait(false)).Single(),
            ct).ConfigureAwait(false);
        watch.Stop();
        if (end is { } rangeEnd)
        {
            _state.LastKey = rangeEnd;
            _state.Scanned += scanned;
            _state.Updated += updated;
            _state.Batches++;
            parts.Tally.Add(scanned, updated);
            _state.LastBatchMs = watch.Elapsed.TotalMilliseconds;
            _controller.Observe(scanned, watch.Elapsed);
            parts.Progress.Report(_state, estimate, _controller.Current);
            if (parts.Request.Delay > TimeSpan.Zero) await Task.Delay(parts.Request.Delay, ct).ConfigureAwait(false);
            return;
        }
        // Walked up to the high-water mark: rows inserted meanwhile lie above it.
        var next = await RaiseHighWaterMarkAsync(ct).ConfigureAwait(false) ? BackfillStatus.CatchUp : BackfillStatus.Sweep;
        await SetStatusAsync(next, null, ct).ConfigureAwait(false);
    }

    /// <summary>Sweep: rows inserted behind the walk (keys at or below where it passed). True when the type is done.</summary>
    private async Task<bool> SweepAsync(CancellationToken ct)
    {
        var sweep = _dialect.Sweep(parts.Context.Table, checkpoint.RunId, checkpoint.TypeId, _state.LastKey, _controller.Current,
            _target, _source);
        var swept = await _worker.RetryingAsync(_state, _controller, async (conn, token) =>
            await conn.ScalarAsync<int>(_provider, sweep, token, timeoutSeconds: StatementTimeoutSeconds).ConfigureAwait(false),
            ct).ConfigureAwait(false);
        if (swept > 0)
        {
            _state.Updated += swept;
            _state.Batches++;
            parts.Tally.Add(0, swept);
            parts.Progress.Report(_state, estimate, _controller.Current);
            return false;
        }
        if (await RaiseHighWaterMarkAsync(ct).ConfigureAwait(false))
        {
            await SetStatusAsync(BackfillStatus.CatchUp, null, ct).ConfigureAwait(false);
            return false;
        }
        await SetStatusAsync(BackfillStatus.Done, null, ct).ConfigureAwait(false);
        parts.Progress.Report(_state, estimate, _controller.Current);
        if (!finalPass || _state.Updated > 0)
            parts.Progress.Say($"{checkpoint.TypeName}: done, {_state.Updated:N0} rows moved in {_state.Batches:N0} batches" +
                               (finalPass ? " (final catch-up)" : ""));
        return true;
    }

    private async Task<bool> RaiseHighWaterMarkAsync(CancellationToken ct)
    {
        var current = await _worker.ScalarAsync<long?>(_state,
            _dialect.HighWaterMark(parts.Context.Table, checkpoint.TypeId), ct).ConfigureAwait(false);
        if (current is not { } mark || mark <= _state.HighWaterMark) return false;
        parts.Progress.Say($"{checkpoint.TypeName}: catching up with rows inserted during the run (keys up to {mark})");
        _state.HighWaterMark = mark;
        return true;
    }

    /// <summary>
    /// A permanent error belongs to this type (a trigger, a constraint, bad data): it is marked failed and
    /// the other types go on; the run ends failed, naming it, and a rerun retries it. A connection fault
    /// that outlasted the reconnects is the database's, not the type's: every worker stops.
    /// </summary>
    private async Task FailAsync(Exception e)
    {
        var message = e.Message.Trim();
        parts.Tally.Failed.Enqueue((checkpoint.TypeName, message));
        if (_provider.Errors.Classify(e) == ErrorKind.Transient) parts.Stop.Set($"database unreachable ({message})");
        try { await SetStatusAsync(BackfillStatus.Failed, message, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception) { _state.Status = BackfillStatus.Failed; /* unreachable too: the checkpoint stays as it was, resumable */ }
        _state.Error = message;
        parts.Progress.Report(_state, estimate);
        parts.Progress.Say($"{checkpoint.TypeName}: failed: {message}");
    }

    private async Task SetStatusAsync(string status, string? error, CancellationToken ct)
    {
        _state.Status = status;
        await _worker.ExecuteAsync(_state, parts.Checkpoints.TypeStatus(_state, status, error), ct).ConfigureAwait(false);
    }
}
