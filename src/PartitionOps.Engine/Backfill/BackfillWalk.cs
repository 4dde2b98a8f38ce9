using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>The type's application lock went to another runner while this one reconnected.</summary>
internal sealed class TypeLostException : Exception;

/// <summary>
/// A stop condition (the run's --max-duration) was met inside a worker's lock-wait retry, between two attempts of a
/// statement: nothing is in flight, so the type pauses cleanly like a stop met between batches. The reason is in
/// the walk's stop reason. Not an <see cref="OperationCanceledException"/>: nobody cancelled anything.
/// </summary>
internal sealed class WalkStoppedException : Exception;

internal sealed record WalkOutcome(long RunId, string Status, string? StopReason, IReadOnlyList<TypeProgress> Types, IReadOnlyList<string> SkippedTypes,
    long RowsScanned, IReadOnlyList<string> FailedTypes);

/// <summary>
/// Phase 3: walks each selected type in key ranges, smallest type first, N types at once. Each batch
/// moves one range and its checkpoint in one transaction; after the walk a catch-up follows rows
/// inserted above the high-water mark and a sweep fixes rows inserted behind the walk.
/// </summary>
internal sealed class BackfillWalk(
    BackfillContext context, BackfillRequest request, string host, IProgress<BackfillEvent>? events, Stopwatch clock)
{
    // The nested worker cannot see primary-constructor parameters.
    private BackfillContext Context => context;
    private BackfillRequest Request => request;
    private Stopwatch Clock => clock;
    private IProgress<BackfillEvent>? Events => events;
    private readonly IDatabaseProvider _provider = context.Provider;
    private readonly IBackfillDialect _dialect = context.Dialect;
    private readonly string _controlSchema = context.Table.ControlSchema;
    private readonly int _target = BackfillService.TargetValue(context, request.Direction);
    private readonly int _source = BackfillService.SourceValue(context, request.Direction);
    private readonly string _direction = request.Direction.ToString().ToLowerInvariant();
    /// <summary>Catch-up passes over every type at the end, at most (each only runs when the one before found rows).</summary>
    private const int MaxFinalPasses = 5;
    /// <summary>A time long before the run started (TimeSpan.MinValue would overflow in subtraction).</summary>
    private static readonly TimeSpan NeverChecked = TimeSpan.FromDays(-365);
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _skipped = [];
    /// <summary>Types that failed in this call, with the error: "ValueSet: trigger refused the update".</summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Type, string Error)> _failed = new();
    /// <summary>Why every worker stops (max duration, stop flag, Ctrl+C, the database gone). A type failing on
    /// its own does not set it: the other types go on.</summary>
    private volatile string? _stopReason;
    private long _rowsMoved;
    /// <summary>Rows walked by this call (the checkpoints hold the run's totals over every call).</summary>
    private long _rowsScanned;

    /// <summary>
    /// A type's batch-size controller: starts at --batch-size, adapts toward --target-batch-ms, and never goes above
    /// the dialect's <see cref="IBackfillDialect.SafeMaxBatchSize"/> (SQL Server: below lock escalation), whatever was asked.
    /// </summary>
    internal static BatchSizeController CreateController(BackfillRequest request, IBackfillDialect dialect) =>
        new(request.BatchSize, request.TargetBatchTime, Math.Min(100, Math.Min(request.BatchSize, dialect.SafeMaxBatchSize)), dialect.SafeMaxBatchSize);

    private long _runId;
    private Dictionary<int, long> _estimates = [];

    /// <summary>Clears the stop flag and opens (or resumes) the run with its checkpoints. Safe to repeat after a reconnect.</summary>
    public async Task OpenAsync(MainSession session, CancellationToken ct)
    {
        await session.RunAsync("backfill", (c, t) => BackfillService.SetStopFlagAsync(c, context, false, t), ct).ConfigureAwait(false);
        _estimates = await session.RunAsync("backfill", (c, t) => ProgressReader.EstimatesAsync(c, context, t), ct).ConfigureAwait(false);
        _runId = await session.RunAsync("backfill", (c, t) => OpenRunAsync(c, _estimates, t), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Walks the run opened by <see cref="OpenAsync"/>. Whatever ends it (done, a pause, a failure, an exception), the
    /// run's row is left saying so, unless another runner still works on some of its types (it then says the last word).
    /// </summary>
    public async Task<WalkOutcome> RunAsync(MainSession session, CancellationToken ct)
    {
        try
        {
            return await WalkRunAsync(session, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var status = ct.IsCancellationRequested ? BackfillStatus.Paused : BackfillStatus.Failed;
            try { await CloseRunAsync(session, status, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception) { /* the database is gone: the next start reconciles the row (its type locks are free) */ }
            events?.Report(new("backfill", $"run {_runId}: {status}: {e.Message.Trim()}"));
            throw;
        }
    }

    private async Task<WalkOutcome> WalkRunAsync(MainSession session, CancellationToken ct)
    {
        var runId = _runId;
        var estimates = _estimates;
        var checkpoints = await ReadCheckpointsAsync(session, ct).ConfigureAwait(false);
        var selected = context.SelectedTypes.Select(t => t.Id).ToHashSet();
        // Smallest first: quick wins, and the finished types are usable early.
        var work = checkpoints
            .Where(c => selected.Contains(c.TypeId) && c.Status != BackfillStatus.Done)
            .OrderBy(c => estimates.GetValueOrDefault(c.TypeId, c.EstimatedRows ?? 0))
            .ThenBy(c => c.TypeName, StringComparer.Ordinal)
            .ToList();

        events?.Report(new("backfill", $"run {runId}: {work.Count} of {selected.Count} types to walk, {request.Parallelism} at a time"));
        await WalkAllAsync(work, estimates, finalPass: false, ct).ConfigureAwait(false);

        // Rows of a type may arrive after that type finished while others were still walking. Before the
        // run is called done, every type catches up once more; repeat while a pass still finds rows.
        for (var pass = 1; pass <= MaxFinalPasses && _stopReason is null && _skipped.IsEmpty && _failed.IsEmpty; pass++)
        {
            var finished = (await ReadCheckpointsAsync(session, ct).ConfigureAwait(false))
                .Where(c => selected.Contains(c.TypeId) && c.Status == BackfillStatus.Done).ToList();
            if (finished.Count < selected.Count) break;
            var before = Interlocked.Read(ref _rowsMoved);
            await WalkAllAsync(finished, estimates, finalPass: true, ct).ConfigureAwait(false);
            if (Interlocked.Read(ref _rowsMoved) == before) break;
        }

        var final = await ReadCheckpointsAsync(session, CancellationToken.None).ConfigureAwait(false);
        var status = final.All(c => c.Status == BackfillStatus.Done) ? BackfillStatus.Done
            : final.Any(c => c.Status == BackfillStatus.Failed) || !_failed.IsEmpty ? BackfillStatus.Failed
            : BackfillStatus.Paused;
        var busy = await CloseRunAsync(session, status, CancellationToken.None).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        var types = final.Where(c => selected.Contains(c.TypeId))
            .Select(c => c.ToProgress(estimates.TryGetValue(c.TypeId, out var e) ? e : c.EstimatedRows, now)).ToList();
        // Failed types by name: those that failed now, and any left failed by an earlier call of this run
        // that this call did not get to retry (another runner held them, or the run stopped first).
        var failed = _failed.Select(f => f.Type)
            .Concat(types.Where(t => t.Status == BackfillStatus.Failed).Select(t => t.TypeName))
            .Distinct(StringComparer.Ordinal).ToList();
        var reason = status == BackfillStatus.Done ? null : StopReason(types);
        if (busy.Count > 0 && status != BackfillStatus.Done)
            reason = $"{(reason is null ? "" : reason + "; ")}another runner is still working on {string.Join(", ", busy)}: " +
                "the run stays running and it ends it";
        return new WalkOutcome(runId, status, reason, types, _skipped.ToList(), Interlocked.Read(ref _rowsScanned), failed);
    }

    private Task<List<Checkpoint>> ReadCheckpointsAsync(MainSession session, CancellationToken ct) =>
        session.RunAsync("backfill", (c, t) => ProgressReader.CheckpointsAsync(c, context, _runId, t), ct);

    /// <summary>
    /// Writes the run's final status, unless another runner still holds the lock of one of its unfinished types (two runners
    /// share a run: the one that ends last writes it, so a run another runner still works on never reads paused or failed).
    /// Returns the types another runner still holds.
    /// </summary>
    private async Task<List<string>> CloseRunAsync(MainSession session, string status, CancellationToken ct)
    {
        var busy = new List<string>();
        if (status != BackfillStatus.Done)
        {
            foreach (var checkpoint in await ReadCheckpointsAsync(session, ct).ConfigureAwait(false))
            {
                if (checkpoint.Status == BackfillStatus.Done) continue;
                if (await TypeLockHeldElsewhereAsync(session, checkpoint.TypeName, ct).ConfigureAwait(false)) busy.Add(checkpoint.TypeName);
            }
            if (busy.Count > 0) return busy;
        }
        await session.RunAsync("backfill", (c, t) => c.ExecuteAsync(_provider, _dialect.SetRunStatus(_controlSchema).With(
            new("run_id", _runId), new("status", status), new("ended", status == BackfillStatus.Running ? 0 : 1),
            new("host", host)), t), ct)
            .ConfigureAwait(false);
        return busy;
    }

    private Task<bool> TypeLockHeldElsewhereAsync(MainSession session, string typeName, CancellationToken ct) =>
        session.RunAsync("backfill", (c, t) => AppLocks.HeldElsewhereAsync(c, context, context.Table.LockResource(typeName), t), ct);

    /// <summary>"ValueSet failed: ...; CodeSystem failed: ..." and, when the others stopped too, why.</summary>
    private string? StopReason(IReadOnlyList<TypeProgress> types)
    {
        var failures = _failed.Select(f => $"{f.Type} failed: {f.Error}")
            .Concat(types.Where(t => t.Status == BackfillStatus.Failed && !_failed.Any(f => f.Type == t.TypeName))
                .Select(t => $"{t.TypeName} failed earlier: {t.LastError}"))
            .ToList();
        if (failures.Count == 0) return _stopReason;
        var reason = string.Join("; ", failures);
        return _stopReason is { } stop ? $"{reason}; the other types paused: {stop}" : reason;
    }

    private Task WalkAllAsync(IReadOnlyList<Checkpoint> work, Dictionary<int, long> estimates, bool finalPass, CancellationToken ct) =>
        Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = request.Parallelism, CancellationToken = CancellationToken.None },
            async (checkpoint, _) =>
            {
                try { await WalkTypeAsync(checkpoint, estimates.TryGetValue(checkpoint.TypeId, out var e) ? e : checkpoint.EstimatedRows, finalPass, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { _stopReason ??= "cancelled"; }
            });

    /// <summary>
    /// Resumes the newest run of this direction that has not finished; otherwise starts a new one. A new
    /// run after a finished one of the same direction starts each type where that one ended, so a rerun
    /// only catches up and sweeps instead of walking the whole table again.
    /// </summary>
    private async Task<long> OpenRunAsync(DbConnection connection, Dictionary<int, long> estimates, CancellationToken ct)
    {
        var latest = (await connection.QueryAsync(_provider, _dialect.LatestRun(_controlSchema).With(context.TableParameters()),
            r => (RunId: r.Get<long>("run_id"), Direction: r.Get<string>("direction")!, Status: r.Get<string>("status")!,
                Host: r.Get<string>("host")),
            ct).ConfigureAwait(false))
            .FirstOrDefault();
        Dictionary<int, Checkpoint> seed = [];
        long runId;
        if (latest.Direction == _direction && latest.Status != BackfillStatus.Done)
        {
            runId = latest.RunId;
            await connection.ExecuteAsync(_provider, _dialect.SetRunStatus(_controlSchema).With(
                new("run_id", runId), new("status", BackfillStatus.Running), new("ended", 0), new("host", host)), ct).ConfigureAwait(false);
            events?.Report(new("backfill", latest.Status == BackfillStatus.Running
                ? $"resuming run {runId}, recorded as running by {latest.Host ?? "another host"}: " +
                  "a runner that ends always records how it " +
                  "ended, so that one was killed; its types' locks are free, and any of them another runner still holds it skips"
                : $"resuming run {runId}"));
        }
        else
        {
            if (latest.Direction == _direction)
                seed = (await ProgressReader.CheckpointsAsync(connection, context, latest.RunId, ct).ConfigureAwait(false)).ToDictionary(c => c.TypeId);
            var options = $"batch_size={request.BatchSize};target_batch_ms={request.TargetBatchTime.TotalMilliseconds};parallel={request.Parallelism}";
            runId = await connection.ScalarAsync<long>(_provider, _dialect.InsertRun(_controlSchema).With(
                new("table_schema", context.Table.Schema), new("table_name", context.Table.Table), new("column_name", context.Profile.PartitionColumn),
                new("direction", _direction), new("host", host), new("options", options)), ct).ConfigureAwait(false);
            events?.Report(new("backfill", $"started run {runId} ({_direction})"));
        }

        foreach (var type in context.SelectedTypes)
        {
            var highWaterMark = await connection.ScalarAsync<long?>(_provider, _dialect.HighWaterMark(context.Table).With("type_id", type.Id), ct).ConfigureAwait(false);
            var lastKey = seed.TryGetValue(type.Id, out var previous) && previous.Status == BackfillStatus.Done ? previous.LastKey : BackfillService.StartKey;
            await connection.ExecuteAsync(_provider, _dialect.InsertCheckpoint(_controlSchema).With(
                new("run_id", runId), new("type_id", type.Id), new("type_name", type.Name), new("target_value", _target),
                new("last_key", lastKey), new("high_water_mark", highWaterMark),
                new("estimated_rows", estimates.TryGetValue(type.Id, out var e) ? e : null)), ct).ConfigureAwait(false);
        }
        return runId;
    }

    // ---------------------------------------------------------------- one type

    private sealed class TypeState
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

    private async Task WalkTypeAsync(Checkpoint checkpoint, long? estimate, bool finalPass, CancellationToken ct)
    {
        var resource = context.Table.LockResource(checkpoint.TypeName);
        var worker = new Worker(this, resource);
        await using var _ = worker;
        if (!await worker.ConnectAsync(ct).ConfigureAwait(false))
        {
            _skipped.Add(checkpoint.TypeName);
            events?.Report(new("backfill", $"{checkpoint.TypeName}: another runner holds it, skipped"));
            return;
        }

        var state = new TypeState
        {
            Checkpoint = checkpoint,
            LastKey = checkpoint.LastKey,
            HighWaterMark = checkpoint.HighWaterMark ?? BackfillService.StartKey,
        };
        var controller = CreateController(request, context.Dialect);
        // A final pass starts with the sweep behind the checkpoint, then looks above the high-water mark. A rerun's type
        // starts where the previous run ended (not at the start key, nothing walked yet): all it walks is rows inserted
        // since, so it is a catch-up from the start (and progress does not count the rows walked before as still to do).
        var rerun = checkpoint.LastKey != BackfillService.StartKey && checkpoint is { RowsScanned: 0, Status: BackfillStatus.Pending };
        var first = finalPass ? BackfillStatus.Sweep
            : rerun || checkpoint.Status == BackfillStatus.CatchUp ? BackfillStatus.CatchUp
            : BackfillStatus.Running;
        await SetStatusAsync(worker, state, first, null, ct).ConfigureAwait(false);
        var lastFlagCheck = NeverChecked;
        var lastThrottleCheck = NeverChecked;

        try
        {
            while (true)
            {
                // Stop conditions are only looked at between batches: a batch always commits or rolls back whole.
                if (await ShouldStopAsync(worker, state, ct, () => (clock.Elapsed - lastFlagCheck) >= TimeSpan.FromSeconds(1), () => lastFlagCheck = clock.Elapsed).ConfigureAwait(false))
                {
                    await SetStatusAsync(worker, state, BackfillStatus.Paused, null, CancellationToken.None).ConfigureAwait(false);
                    Report(state, estimate);
                    return;
                }
                if (!request.Throttle.AllOff && clock.Elapsed - lastThrottleCheck >= request.Throttle.CheckInterval)
                {
                    var wait = await ThrottleAsync(worker, state, ct).ConfigureAwait(false);
                    lastThrottleCheck = clock.Elapsed;
                    if (wait is { } w)
                    {
                        state.Waiting = w.Reason;
                        Report(state, estimate);
                        await Task.Delay(w.Duration, ct).ConfigureAwait(false);
                        lastThrottleCheck = NeverChecked;
                        continue;
                    }
                    state.Waiting = null;
                }

                if (state.Status is BackfillStatus.Running or BackfillStatus.CatchUp)
                {
                    var batch = _dialect.Batch(context.Table).With(
                        new("run_id", checkpoint.RunId), new("type_id", checkpoint.TypeId), new("last_key", state.LastKey),
                        new("high_water_mark", state.HighWaterMark), new("batch_size", controller.Current), new("target_value", _target));
                    var watch = Stopwatch.StartNew();
                    var result = await worker.RetryingAsync(state, controller, async (conn, token) =>
                        (await conn.QueryAsync(_provider, batch, r => (End: r.Get<long?>("range_end"), Scanned: r.Get<int>("rows_scanned"), Updated: r.Get<int>("rows_updated")), token, timeoutSeconds: 600).ConfigureAwait(false)).Single(),
                        ct).ConfigureAwait(false);
                    watch.Stop();
                    var (end, scanned, updated) = result;
                    if (end is { } rangeEnd)
                    {
                        state.LastKey = rangeEnd;
                        state.Scanned += scanned;
                        state.Updated += updated;
                        state.Batches++;
                        Interlocked.Add(ref _rowsMoved, updated);
                        Interlocked.Add(ref _rowsScanned, scanned);
                        state.LastBatchMs = watch.Elapsed.TotalMilliseconds;
                        controller.Observe(scanned, watch.Elapsed);
                        Report(state, estimate, controller.Current);
                        if (request.Delay > TimeSpan.Zero) await Task.Delay(request.Delay, ct).ConfigureAwait(false);
                        continue;
                    }
                    // Walked up to the high-water mark: rows inserted meanwhile lie above it.
                    if (await RaiseHighWaterMarkAsync(worker, state, ct).ConfigureAwait(false))
                    {
                        await SetStatusAsync(worker, state, BackfillStatus.CatchUp, null, ct).ConfigureAwait(false);
                        continue;
                    }
                    await SetStatusAsync(worker, state, BackfillStatus.Sweep, null, ct).ConfigureAwait(false);
                    continue;
                }

                // Sweep: rows inserted behind the walk (keys at or below where it passed).
                var sweep = _dialect.Sweep(context.Table).With(
                    new("run_id", checkpoint.RunId), new("type_id", checkpoint.TypeId), new("upto_key", state.LastKey),
                    new("batch_size", controller.Current), new("target_value", _target), new("source_value", _source));
                var swept = await worker.RetryingAsync(state, controller, async (conn, token) =>
                    await conn.ScalarAsync<int>(_provider, sweep, token, timeoutSeconds: 600).ConfigureAwait(false), ct).ConfigureAwait(false);
                if (swept > 0)
                {
                    state.Updated += swept;
                    state.Batches++;
                    Interlocked.Add(ref _rowsMoved, swept);
                    Report(state, estimate, controller.Current);
                    continue;
                }
                if (await RaiseHighWaterMarkAsync(worker, state, ct).ConfigureAwait(false))
                {
                    await SetStatusAsync(worker, state, BackfillStatus.CatchUp, null, ct).ConfigureAwait(false);
                    continue;
                }
                await SetStatusAsync(worker, state, BackfillStatus.Done, null, ct).ConfigureAwait(false);
                Report(state, estimate, controller.Current);
                if (!finalPass || state.Updated > 0)
                    events?.Report(new("backfill", $"{checkpoint.TypeName}: done, {state.Updated:N0} rows moved in {state.Batches:N0} batches{(finalPass ? " (final catch-up)" : "")}"));
                return;
            }
        }
        catch (TypeLostException)
        {
            events?.Report(new("backfill", $"{checkpoint.TypeName}: another runner took it over while reconnecting"));
        }
        catch (WalkStoppedException)
        {
            // Between two attempts of a statement (a lock wait): its last attempt rolled back whole, so the checkpoint
            // matches the data. Paused like a stop between batches.
            state.Waiting = null;
            try { await SetStatusAsync(worker, state, BackfillStatus.Paused, null, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is DbException or WalkStoppedException) { /* stays 'running': the next start resumes it all the same */ }
            Report(state, estimate);
        }
        catch (Exception e) when (e is not OperationCanceledException && _provider.Errors.Classify(e) != ErrorKind.Canceled)
        {
            // A permanent error belongs to this type (a trigger, a constraint, bad data): it is marked failed and
            // the other types go on; the run ends failed, naming it, and a rerun retries it. A connection fault
            // that outlasted the reconnects is the database's, not the type's: every worker stops.
            var message = e.Message.Trim();
            _failed.Enqueue((checkpoint.TypeName, message));
            if (_provider.Errors.Classify(e) == ErrorKind.Transient) _stopReason ??= $"database unreachable ({message})";
            try { await SetStatusAsync(worker, state, BackfillStatus.Failed, message, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception) { state.Status = BackfillStatus.Failed; /* unreachable too: the checkpoint stays as it was, resumable */ }
            state.Error = message;
            Report(state, estimate);
            events?.Report(new("backfill", $"{checkpoint.TypeName}: failed: {message}"));
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            _stopReason ??= "cancelled";
            try { await SetStatusAsync(worker, state, BackfillStatus.Paused, null, CancellationToken.None).ConfigureAwait(false); }
            catch (DbException) { /* stays 'running': the next start resumes it all the same */ }
            Report(state, estimate);
        }
    }

    private async Task<bool> RaiseHighWaterMarkAsync(Worker worker, TypeState state, CancellationToken ct)
    {
        var current = await worker.ScalarAsync<long?>(state,
            _dialect.HighWaterMark(context.Table).With("type_id", state.Checkpoint.TypeId), ct).ConfigureAwait(false);
        if (current is { } mark && mark > state.HighWaterMark)
        {
            events?.Report(new("backfill", $"{state.Checkpoint.TypeName}: catching up with rows inserted during the run (keys up to {mark})"));
            state.HighWaterMark = mark;
            return true;
        }
        return false;
    }

    private async Task<bool> ShouldStopAsync(Worker worker, TypeState state, CancellationToken ct, Func<bool> flagDue, Action flagChecked)
    {
        if (_stopReason != null) return true;
        if (ct.IsCancellationRequested) { _stopReason = "cancelled"; return true; }
        if (request.MaxDuration is { } max && clock.Elapsed >= max) { _stopReason = $"max duration {max} reached"; return true; }
        if (flagDue())
        {
            flagChecked();
            var flag = await worker.ScalarAsync<int>(state, _dialect.ReadStopFlag(_controlSchema).With(context.TableParameters()), ct).ConfigureAwait(false);
            if (flag == 1) { _stopReason = "stop requested"; return true; }
        }
        return false;
    }

    private async Task<(string Reason, TimeSpan Duration)?> ThrottleAsync(Worker worker, TypeState state, CancellationToken ct)
    {
        var limits = request.Throttle;
        // Limits that are off are not checked; with all three off the signals are not read at all.
        var signals = limits is { MaxReplicaLagSeconds: null, MaxLogUsedPercent: null, MaxBlockedSessions: null }
            ? []
            : await worker.RetryingAsync(state, null, (c, token) => c.QueryAsync(_provider, _dialect.ThrottleSignals(),
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
            if (ms is > 0) return ($"throttle query asked for {ms:0} ms", TimeSpan.FromMilliseconds(Math.Min(ms.Value, 60_000)));
        }
        return null;
    }

    private async Task SetStatusAsync(Worker worker, TypeState state, string status, string? error, CancellationToken ct)
    {
        state.Status = status;
        await worker.ExecuteAsync(state, _dialect.UpdateCheckpointStatus(_controlSchema).With(
            new("run_id", state.Checkpoint.RunId), new("type_id", state.Checkpoint.TypeId), new("status", status),
            new("host", host), new("high_water_mark", state.HighWaterMark), new("last_error", error)), ct).ConfigureAwait(false);
    }

    private void Report(TypeState state, long? estimate, int? batchSize = null)
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
        events.Report(new BackfillEvent("backfill", $"{cp.TypeName}: {progress.RowsScanned:N0} rows walked, {progress.RowsUpdated:N0} moved", progress));
    }

    // ---------------------------------------------------------------- a worker's connection

    /// <summary>
    /// One type's session: holds the type's application lock for as long as it lives, and reconnects
    /// (taking the lock again) after a transient fault.
    /// </summary>
    private sealed class Worker(BackfillWalk walk, string resource) : IAsyncDisposable
    {
        public DbConnection Connection { get; private set; } = null!;

        /// <summary>Opens the type's session (retrying while the server is away, as after a restart) and takes its lock.</summary>
        public async Task<bool> ConnectAsync(CancellationToken ct)
        {
            for (var faults = 0; ; faults++)
            {
                try
                {
                    Connection = faults == 0
                        ? await walk.Context.Target.OpenAsync(ct).ConfigureAwait(false)
                        : await MainSession.ReopenAsync(walk.Context.Target, Connection, ct).ConfigureAwait(false);
                    return await PrepareAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (faults < RetryBackoff.ReconnectAttempts
                    && walk._provider.Errors.Classify(e) == ErrorKind.Transient)
                {
                    walk.Events?.Report(new("backfill", $"{resource}: cannot connect ({e.Message.Trim()}), trying again"));
                }
            }
        }

        /// <summary>Session settings and the type's lock on a new connection: false when another runner holds the type.</summary>
        private async Task<bool> PrepareAsync(CancellationToken ct)
        {
            await Connection.ExecuteAsync(walk._provider, walk._dialect.SetLockTimeout(walk.Request.BatchLockTimeout), ct).ConfigureAwait(false);
            return await Connection.ScalarAsync<int>(walk._provider, walk._dialect.TryAcquireAppLock().With("resource", resource), ct).ConfigureAwait(false) == 1;
        }

        /// <summary>
        /// Runs one statement of this type's work; lock timeouts and deadlocks wait and retry (smaller
        /// batches), transient faults reconnect. Throws <see cref="TypeLostException"/> when the type's
        /// lock went to another runner while reconnecting.
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
                catch (Exception e)
                {
                    var kind = walk._provider.Errors.Classify(e);
                    if (kind is ErrorKind.LockTimeout or ErrorKind.Deadlock)
                    {
                        state.LockWaits++;
                        controller?.Backoff();
                        state.Waiting = $"{(kind == ErrorKind.Deadlock ? "deadlock" : "lock wait")}, retry {attempt}";
                        walk.Report(state, null, controller?.Current);
                        await Connection.ExecuteAsync(walk._provider, walk._dialect.AddLockWaits(walk._controlSchema).With(
                            new("run_id", state.Checkpoint.RunId), new("type_id", state.Checkpoint.TypeId), new("lock_waits", 1L)), CancellationToken.None).ConfigureAwait(false);
                        await Task.Delay(RetryBackoff.Delay(attempt), ct).ConfigureAwait(false);
                        if (walk.Request.MaxDuration is { } max && walk.Clock.Elapsed >= max)
                        {
                            walk._stopReason ??= $"max duration {max} reached";
                            throw new WalkStoppedException();
                        }
                        continue;
                    }
                    if (kind == ErrorKind.Transient && ++transientFailures <= RetryBackoff.ReconnectAttempts)
                    {
                        // A restart, a failover or a terminated session: the statement rolled back whole. A new connection
                        // (after back-off; it throws when the server stays away) takes the type's lock again, then it runs again.
                        walk.Events?.Report(new("backfill", $"{state.Checkpoint.TypeName}: connection fault ({e.Message.Trim()}), reconnecting"));
                        Connection = await MainSession.ReopenAsync(walk.Context.Target, Connection, ct).ConfigureAwait(false);
                        bool granted;
                        try { granted = await PrepareAsync(ct).ConfigureAwait(false); }
                        catch (Exception again) when (walk._provider.Errors.Classify(again) == ErrorKind.Transient) { continue; }
                        if (!granted) { walk._skipped.Add(state.Checkpoint.TypeName); throw new TypeLostException(); }
                        continue;
                    }
                    throw;
                }
            }
        }

        /// <summary>Runs a statement of this type through <see cref="RetryingAsync{T}"/>.</summary>
        public Task<int> ExecuteAsync(TypeState state, SqlStatement statement, CancellationToken ct) =>
            RetryingAsync(state, null, (c, token) => c.ExecuteAsync(walk._provider, statement, token), ct);

        public Task<T?> ScalarAsync<T>(TypeState state, SqlStatement statement, CancellationToken ct) =>
            RetryingAsync(state, null, (c, token) => c.ScalarAsync<T>(walk._provider, statement, token), ct);

        public async ValueTask DisposeAsync()
        {
            if (Connection is null) return;
            try
            {
                if (Connection.State == System.Data.ConnectionState.Open)
                    await Connection.ExecuteAsync(walk._provider, walk._dialect.ReleaseAppLock().With("resource", resource), CancellationToken.None).ConfigureAwait(false);
            }
            catch (DbException) { /* the lock ends with the session anyway */ }
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
