using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm.Execution;

public static class IlmStatus
{
    public const string Success = "SUCCESS";
    public const string Failed = "FAILED";
    public const string Skipped = "SKIPPED";
    public const string InProgress = "IN_PROGRESS";
    /// <summary>Dry run: shown, not executed.</summary>
    public const string Planned = "PLANNED";
}

/// <summary>An action with the exact statements it runs (what --dry-run / -WhatIf shows).</summary>
public sealed record PlannedAction(IlmAction Action, IReadOnlyList<SqlStatement> Statements)
{
    public string Describe() => Action.Describe();
}

/// <summary>
/// How one action went. For a merge, <see cref="RowsBefore"/> is the rows of every source (the partition that
/// grows included) and <see cref="RowsAfter"/> the rows of the grown partition, both counted in the merge.
/// </summary>
public sealed record ActionOutcome(
    IlmAction Action,
    string Status,
    string? Error,
    ErrorKind? ErrorKind,
    TimeSpan Duration,
    long? RowsBefore,
    long? RowsAfter,
    IReadOnlyList<SqlStatement> Statements)
{
    /// <summary>
    /// Merge: rows of the partitions merged in (<see cref="MergeAction.MergedSources"/>, not the partition that
    /// grows), counted exactly before the merge statement ran: the sum of the audit rows' rows_merged. Null for
    /// other actions, and when the merge failed before its rows were counted.
    /// </summary>
    public long? RowsMerged { get; init; }

    /// <summary>
    /// Move: rows of the moved partition as the catalog estimates them (PostgreSQL reltuples, Oracle NUM_ROWS, as of
    /// the last ANALYZE / statistics gathering, read when the run planned); null when the partition was never analysed.
    /// An estimate on purpose: an exact count(*) would read the whole partition a second time (the move is a block
    /// copy on PostgreSQL, a segment rewrite on Oracle), and counting under the move's exclusive lock would hold that
    /// lock twice as long. Not logged: dwh_ilm_execution_log has no row column (DESIGN §5 keeps the spec's columns).
    /// </summary>
    public long? RowsMovedEstimate { get; init; }

    /// <summary>
    /// Merge: FAILED after its merge statement ran without a transaction to undo it (Oracle: the MERGE went through, the
    /// RENAME did not). Its audit rows stay IN_PROGRESS for the next run to reconcile, and its partitions are left alone
    /// (no <see cref="MergeAction.MovesIfFailed"/>: the months are already merged).
    /// </summary>
    public bool LeftForReconcile { get; init; }

    /// <summary>
    /// Rows the action wrote, counted (the copies' row counts; Oracle: the sources counted before its merge); null when
    /// not counted (a failed action, a move by SET TABLESPACE, a rename).
    /// </summary>
    public long? RowsWritten { get; init; }
}

/// <summary>Progress of a run: which action is starting or has ended.</summary>
public sealed record IlmProgress(string Table, int Index, int Count, IlmAction Action, string Stage, ActionOutcome? Outcome = null);

/// <summary>
/// Runs a plan's actions one at a time on one connection, writing the audit rows. A failed action
/// does not stop the ones after it (a failed merge does not undo the move before it).
/// <paramref name="lockWait"/> bounds how long a lock step keeps retrying (MERGE_LOCK_TIMEOUT).
/// </summary>
internal sealed class IlmExecutor(
    DbConnection connection,
    IDatabaseProvider provider,
    IIlmDialect dialect,
    string? controlSchema,
    PartitionLayout layout,
    bool online,
    MergeMethod method = MergeMethod.Rebuild,
    TimeSpan? lockWait = null,
    IIlmStatementHook? hook = null)
{
    public static IReadOnlyList<SqlStatement> StatementsFor(IIlmDialect dialect, PartitionLayout layout, IlmAction action, bool online,
        MergeMethod method = MergeMethod.Rebuild) => action switch
    {
        MoveAction m => dialect.MoveScript(layout, m, online, method)?.All.ToList() ?? dialect.Move(layout, m, online),
        MergeAction m => dialect.Merge(layout, m, online, method).All.ToList(),
        RenameAction r => dialect.Rename(layout, r),
        _ => [],
    };

    /// <summary>
    /// Runs a plan's work in order, one action at a time, reporting each start and end to <paramref name="progress"/>.
    /// Stops starting actions once <paramref name="outOfTime"/> says so (those are returned as not started). A failed merge
    /// that took no effect still leaves its months in their tier: each is moved on its own, as its own audited outcome,
    /// reported under the merge's step; not when out of time or cancelled (the next run plans the merge, or with
    /// MERGE_RETRY_FAILED = N the move, again). Last, a SKIPPED audit row for each month held back from a merge.
    /// </summary>
    public async Task<(List<ActionOutcome> Outcomes, List<IlmAction> NotStarted)> RunPlanAsync(IlmPlan plan, Func<bool> outOfTime,
        IProgress<IlmProgress>? progress, CancellationToken ct)
    {
        var outcomes = new List<ActionOutcome>();
        var notStarted = new List<IlmAction>();
        var work = plan.Work.ToList();
        for (var i = 0; i < work.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            if (outOfTime())
            {
                notStarted.AddRange(work.Skip(i));
                break;
            }
            progress?.Report(new IlmProgress(layout.Table, i + 1, work.Count, work[i], "starting"));
            var outcome = await RunAsync(work[i], ct).ConfigureAwait(false);
            outcomes.Add(outcome);
            progress?.Report(new IlmProgress(layout.Table, i + 1, work.Count, work[i], outcome.Status, outcome));

            if (outcome is not { Status: IlmStatus.Failed, LeftForReconcile: false, Action: MergeAction failed }) continue;
            foreach (var move in failed.MovesIfFailed)
            {
                if (ct.IsCancellationRequested || outOfTime()) break;
                progress?.Report(new IlmProgress(layout.Table, i + 1, work.Count, move, "starting"));
                var moved = await RunAsync(move, ct).ConfigureAwait(false);
                outcomes.Add(moved);
                progress?.Report(new IlmProgress(layout.Table, i + 1, work.Count, move, moved.Status, moved));
            }
        }
        foreach (var held in plan.Actions.OfType<SkipAction>().Where(s => s.WouldMergeInto != null))
        {
            var audit = dialect.InsertMergeAudit(controlSchema, new MergeAuditEntry(
                layout.Schema, layout.Table, held.PartitionName, held.WouldMergeInto!, IlmStatus.Skipped, held.Reason));
            await connection.ExecuteAsync(provider, audit, ct).ConfigureAwait(false);
        }
        return (outcomes, notStarted);
    }

    public async Task<ActionOutcome> RunAsync(IlmAction action, CancellationToken ct) => action switch
    {
        MergeAction merge => await MergeAsync(merge, ct).ConfigureAwait(false),
        MoveAction move when dialect.MoveScript(layout, move, online, method) is { } script =>
            await MoveByScriptAsync(move, script, ct).ConfigureAwait(false),
        MoveAction move => await SimpleAsync(move, "MOVE", move.FromTablespace, move.ToTablespace, dialect.Move(layout, move, online), ct)
            .ConfigureAwait(false),
        RenameAction rename => await SimpleAsync(rename, "RENAME", null, null, dialect.Rename(layout, rename), ct).ConfigureAwait(false),
        _ => new ActionOutcome(action, IlmStatus.Skipped, null, null, TimeSpan.Zero, null, null, []),
    };

    private async Task SendAsync(IlmAction? action, string phase, int index, SqlStatement statement, DbTransaction? transaction,
        CancellationToken ct, Action<int>? rows = null)
    {
        if (hook != null)
            await hook.BeforeAsync(new IlmStatementPoint(action, phase, index, statement, connection), ct).ConfigureAwait(false);
        var affected = await connection.ExecuteAsync(provider, statement, ct, transaction).ConfigureAwait(false);
        rows?.Invoke(affected);
    }

    private async Task SimpleAsync(IlmAction action, string phase, IReadOnlyList<SqlStatement> statements, CancellationToken ct)
    {
        for (var i = 0; i < statements.Count; i++) await SendAsync(action, phase, i, statements[i], null, ct).ConfigureAwait(false);
    }

    private async Task<ActionOutcome> SimpleAsync(IlmAction action, string kind, string? from, string? to,
        IReadOnlyList<SqlStatement> statements, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string? error = null;
        ErrorKind? errorKind = null;
        try
        {
            await SimpleAsync(action, "statement", statements, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            errorKind = provider.Errors.Classify(e);
            error = $"{errorKind}: {e.Message}";
        }
        var status = error is null ? IlmStatus.Success : IlmStatus.Failed;
        await connection.ExecuteAsync(provider, dialect.InsertExecutionLog(controlSchema, new ExecutionLogEntry(
            layout.Schema, layout.Table, action.Partition, kind, from, to, status, error, Seconds(clock.Elapsed),
            string.Join(";\n", statements.Select(s => s.Text)))), CancellationToken.None).ConfigureAwait(false);
        return new ActionOutcome(action, status, error, errorKind, clock.Elapsed, null, null, statements)
        {
            RowsMovedEstimate = (action as MoveAction)?.RowEstimate,
        };
    }

    /// <summary>A move rebuilt beside the live partition and swapped in (its rows counted by the copy).</summary>
    private async Task<ActionOutcome> MoveByScriptAsync(MoveAction move, MergeScript script, CancellationToken ct)
    {
        var statements = script.All.ToList();
        var clock = Stopwatch.StartNew();
        string? error = null;
        ErrorKind? errorKind = null;
        ScriptRows? copied = null;
        try
        {
            copied = await RunScriptAsync(move, script, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            errorKind = Kind(e);
            error = $"{errorKind}: {e.Message}";
        }
        var status = error is null ? IlmStatus.Success : IlmStatus.Failed;
        if (error is null && copied?.ChangesApplied is { } applied) error = CaptureNote(applied);
        await connection.ExecuteAsync(provider, dialect.InsertExecutionLog(controlSchema, new ExecutionLogEntry(
            layout.Schema, layout.Table, move.Partition, "MOVE", move.FromTablespace, move.ToTablespace, status, error,
            Seconds(clock.Elapsed),
            string.Join(";\n", statements.Select(s => s.Text)))), CancellationToken.None).ConfigureAwait(false);
        long? rows = copied is null ? null : copied.Copied.Values.Sum();
        return new ActionOutcome(move, status, error, errorKind, clock.Elapsed, rows, rows, statements)
        {
            RowsMovedEstimate = move.RowEstimate,
            RowsWritten = status == IlmStatus.Success ? copied?.Written : null,
        };
    }

    /// <summary>
    /// Runs a script: its checks (a non-null answer fails the action before anything is written), its prepare statements
    /// each on its own, then the rest in one transaction when the engine has transactional DDL, the lock steps retried
    /// with back-off. When the swap must yield (<see cref="MergeScript.SwapGuard"/>), the transaction is rolled back
    /// whole, letting the waiting writers through, and run again after a pause, until <c>lockWait</c> has passed.
    /// Returns the rows each copy statement wrote, by source partition.
    /// </summary>
    private async Task<ScriptRows> RunScriptAsync(IlmAction action, MergeScript script, CancellationToken ct)
    {
        for (var i = 0; i < script.Checks.Count; i++)
        {
            if (hook != null)
                await hook.BeforeAsync(new IlmStatementPoint(action, "checks", i, script.Checks[i], connection), ct).ConfigureAwait(false);
            if (await connection.ScalarAsync<string>(provider, script.Checks[i], ct).ConfigureAwait(false) is { Length: > 0 } problem)
                throw new PartitionOpsException($"{problem}: a merge detaches and drops these partitions; change or drop them first");
        }
        try
        {
            await SimpleAsync(action, "prepare", script.Prepare, ct).ConfigureAwait(false);
            if (script.CaptureSteps.Count > 0) return await CapturedAsync(action, script, ct).ConfigureAwait(false);
            return new ScriptRows(await RetriedTransactionAsync(action, script, ct).ConfigureAwait(false), null);
        }
        catch when (script.Cleanup.Count > 0)
        {
            foreach (var s in script.Cleanup)
            {
                try { await connection.ExecuteAsync(provider, s, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (e is DbException or InvalidOperationException) { break; /* the next run drops it */ }
            }
            throw;
        }
    }

    /// <summary>The rows each copy statement wrote, by source partition, and the captured changes applied (null: no capture).</summary>
    private sealed record ScriptRows(Dictionary<string, long> Copied, long? ChangesApplied)
    {
        public long Written => Copied.Values.Sum() + (ChangesApplied ?? 0);
    }

    /// <summary>
    /// A rebuild with change capture (<see cref="MergeScript.Capture"/>): the capture set up, each step committed on
    /// its own under the short lock tries; the copy committed in its own transaction; the log caught up in batches, each
    /// its own transaction; then the swap transaction, whose lock step is retried (the copy is never redone). Any failure
    /// leaves the live partitions as they were: <see cref="MergeScript.Cleanup"/> then drops what the capture created.
    /// </summary>
    private async Task<ScriptRows> CapturedAsync(IlmAction action, MergeScript script, CancellationToken ct)
    {
        var index = 0;
        foreach (var step in script.CaptureSteps)
        {
            var first = index;
            await InTransactionAsync(action, commitPoint: false, tx =>
                LockAsync(action, "capture", step, script.Retry, null, tx, Stopwatch.StartNew(), ct, first), ct)
                .ConfigureAwait(false);
            index += step.Count;
        }

        var copied = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        await InTransactionAsync(action, commitPoint: true, async tx =>
        {
            for (var i = 0; i < script.Merge.Count; i++)
            {
                var s = script.Merge[i];
                await SendAsync(action, "merge", i, s, tx, ct,
                    script.Copies.TryGetValue(s.Text, out var source) ? n => copied[source] = n : null).ConfigureAwait(false);
            }
        }, ct).ConfigureAwait(false);

        long applied = 0;
        async Task<long> CatchUpAsync()
        {
            long batch = 0;
            await InTransactionAsync(action, commitPoint: true, async tx =>
            {
                for (var i = 0; i < script.CatchUp.Count; i++)
                    await SendAsync(action, "catch-up", i, script.CatchUp[i], tx, ct,
                        i == script.CatchUp.Count - 1 ? n => batch = n : null).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            applied += batch;
            return batch;
        }
        for (var round = 1; script.CatchUp.Count > 0; round++)
            if (await CatchUpAsync().ConfigureAwait(false) < script.CatchUpThreshold || round >= script.MaxCatchUpRounds) break;

        // The swap only is retried: a transaction whose lock tries found no opening within SwapAttempt is rolled back, one
        // catch-up batch keeps the log (what the swap applies under its locks) short, and the swap is tried again, until
        // MERGE_LOCK_TIMEOUT. The copy is never redone.
        var started = Stopwatch.StartNew();
        while (true)
        {
            long drained = 0; // counted once committed: a rolled-back swap leaves its entries in the log
            try
            {
                await InTransactionAsync(action, commitPoint: true, async tx =>
                {
                    var budget = started.Elapsed + SwapAttempt < LockWait ? SwapAttempt : LockWait - started.Elapsed;
                    await LockAsync(action, "swap-lock", script.SwapLock, script.Retry, null, tx, Stopwatch.StartNew(), ct,
                        budget: budget).ConfigureAwait(false);
                    for (var i = 0; i < script.Drain.Count; i++)
                        await SendAsync(action, "drain", i, script.Drain[i], tx, ct,
                            i == script.Drain.Count - 1 ? n => drained = n : null).ConfigureAwait(false);
                    for (var i = 0; i < script.Swap.Count; i++)
                        await SendAsync(action, "swap", i, script.Swap[i], tx, ct).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
                return new ScriptRows(copied, applied + drained);
            }
            catch (Exception e) when (provider.Errors.Classify(e) == ErrorKind.LockTimeout
                                      && started.Elapsed + SwapAttempt / 4 < LockWait && script.CatchUp.Count > 0)
            {
                await CatchUpAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>How long one swap transaction of a captured rebuild keeps trying its locks before a catch-up batch runs.</summary>
    private static readonly TimeSpan SwapAttempt = TimeSpan.FromSeconds(2);

    /// <summary>Runs <paramref name="body"/> in a transaction of its own and commits it (a hook point before the commit).</summary>
    private async Task InTransactionAsync(IlmAction action, bool commitPoint, Func<DbTransaction, Task> body, CancellationToken ct)
    {
        var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        try
        {
            await body(transaction).ConfigureAwait(false);
            if (hook != null && commitPoint)
                await hook.BeforeAsync(new IlmStatementPoint(action, "commit", 0, new SqlStatement("COMMIT"), connection), ct)
                    .ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await SafeRollbackAsync(transaction).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<Dictionary<string, long>> RetriedTransactionAsync(IlmAction action, MergeScript script, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await TransactionAsync(action, script, started, ct).ConfigureAwait(false);
            }
            catch (SwapYieldException yielded) when (started.Elapsed + pause < LockWait)
            {
                _ = yielded;
                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 2000));
            }
            catch (SwapYieldException yielded)
            {
                throw new LockWaitException(
                    $"{yielded.Message}, still after {Math.Round(started.Elapsed.TotalSeconds, 1)} s (MERGE_LOCK_TIMEOUT): " +
                    "the merge yielded each time " +
                    "and changed nothing; the next run tries again");
            }
        }
    }

    private TimeSpan LockWait => lockWait ?? TimeSpan.FromSeconds(IlmConfig.Default.MergeLockTimeoutSeconds);

    private async Task<Dictionary<string, long>> TransactionAsync(IlmAction action, MergeScript script, Stopwatch started,
        CancellationToken ct)
    {
        var copied = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        DbTransaction? transaction = null;
        try
        {
            if (dialect.TransactionalDdl) transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await LockAsync(action, "lock", script.Lock, script.Retry, null, transaction, started, ct).ConfigureAwait(false);
            for (var i = 0; i < script.Merge.Count; i++)
            {
                var s = script.Merge[i];
                await SendAsync(action, "merge", i, s, transaction, ct,
                    script.Copies.TryGetValue(s.Text, out var source) ? n => copied[source] = n : null).ConfigureAwait(false);
            }
            await LockAsync(action, "swap-lock", script.SwapLock, script.Retry, script.SwapGuard, transaction, started, ct)
                .ConfigureAwait(false);
            for (var i = 0; i < script.Swap.Count; i++)
                await SendAsync(action, "swap", i, script.Swap[i], transaction, ct).ConfigureAwait(false);
            if (hook != null && transaction != null)
                await hook.BeforeAsync(new IlmStatementPoint(action, "commit", 0, new SqlStatement("COMMIT"), connection), ct)
                    .ConfigureAwait(false);
            if (transaction != null) await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            if (transaction != null) await SafeRollbackAsync(transaction).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (transaction != null) await transaction.DisposeAsync().ConfigureAwait(false);
        }
        return copied;
    }

    /// <summary>
    /// Takes a lock step. With a retry plan, each attempt runs under a savepoint with a short lock timeout; an attempt that
    /// times out is rolled back to the savepoint (releasing what it took) and tried again after a growing, jittered pause,
    /// until <c>lockWait</c> (MERGE_LOCK_TIMEOUT) has passed since <paramref name="started"/>: then the lock timeout fails
    /// the action. A <paramref name="guard"/> is asked before each attempt; an answer makes the transaction yield.
    /// </summary>
    private async Task LockAsync(IlmAction action, string phase, IReadOnlyList<SqlStatement> locks, LockRetry? retry, SqlStatement? guard,
        DbTransaction? transaction, Stopwatch started, CancellationToken ct, int first = 0, TimeSpan? budget = null)
    {
        if (locks.Count == 0) return;
        if (retry is null)
        {
            for (var i = 0; i < locks.Count; i++)
                await SendAsync(action, phase, first + i, locks[i], transaction, ct).ConfigureAwait(false);
            return;
        }
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            if (guard != null
                && await connection.ScalarAsync<string>(provider, guard, ct, transaction).ConfigureAwait(false) is { Length: > 0 } waiting)
                throw new SwapYieldException(waiting);
            foreach (var b in retry.Begin) await connection.ExecuteAsync(provider, b, ct, transaction).ConfigureAwait(false);
            try
            {
                for (var i = 0; i < locks.Count; i++)
                    await SendAsync(action, phase, first + i, locks[i], transaction, ct).ConfigureAwait(false);
                await connection.ExecuteAsync(provider, retry.Done, ct, transaction).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (provider.Errors.Classify(e) == ErrorKind.LockTimeout
                                      && started.Elapsed + pause < (budget ?? LockWait))
            {
                await connection.ExecuteAsync(provider, retry.Undo, ct, transaction).ConfigureAwait(false);
                var jitter = TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)pause.TotalMilliseconds + 1));
                await Task.Delay(pause + jitter, ct).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1000));
            }
        }
    }

    /// <summary>The swap cannot take its locks without a deadlock now: roll back and try the whole transaction again.</summary>
    private sealed class SwapYieldException(string message) : Exception(message);

    /// <summary>Locks not obtained within MERGE_LOCK_TIMEOUT, retries included: reported as a lock timeout.</summary>
    internal sealed class LockWaitException(string message) : PartitionOpsException(message);

    /// <summary>What a merge counted so far (read after a failure too).</summary>
    private sealed class MergeCounts
    {
        public Dictionary<string, long> PerSource { get; set; } = new(StringComparer.OrdinalIgnoreCase);
        public long? Before { get; set; }
        public long? After { get; set; }
        public long? RowsMerged { get; set; }
        public long? Written { get; set; }
        public long? ChangesApplied { get; set; }
        public bool Started { get; set; }
    }

    private async Task<ActionOutcome> MergeAsync(MergeAction merge, CancellationToken ct)
    {
        var script = dialect.Merge(layout, merge, online, method);
        var statements = script.All.ToList();
        var merged = merge.MergedSources;
        foreach (var source in merged)
            await connection.ExecuteAsync(provider, dialect.InsertMergeAudit(controlSchema,
                new MergeAuditEntry(layout.Schema, layout.Table, source, merge.TargetName, IlmStatus.InProgress)), ct)
                .ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        var counts = new MergeCounts();
        try
        {
            if (script.Copies.Count > 0)
            {
                // Rows counted by the copies themselves (the INSERTs' row counts), never estimated.
                var rows = await RunScriptAsync(merge, script, ct).ConfigureAwait(false);
                counts.PerSource = rows.Copied;
                counts.RowsMerged = merged.Sum(source => counts.PerSource.GetValueOrDefault(source));
                counts.Written = rows.Written;
                counts.ChangesApplied = rows.ChangesApplied;
                if (merge.Sources.All(counts.PerSource.ContainsKey)) counts.Before = counts.After = counts.PerSource.Values.Sum();
            }
            else
            {
                await CountedMergeAsync(merge, script, counts, ct).ConfigureAwait(false);
                counts.Written = counts.RowsMerged + (dialect.MergeRewritesTarget ? counts.PerSource.GetValueOrDefault(merge.Head) : 0);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var kind = Kind(e);
            var message = $"{kind}: {e.Message}";
            if (counts.Started && !dialect.TransactionalDdl)
            {
                // DDL already committed (Oracle): leave the rows IN_PROGRESS so the next run reconciles.
                message += " (the merge statement ran; the next run reconciles it from the IN_PROGRESS audit rows)";
                return new ActionOutcome(merge, IlmStatus.Failed, message, kind, clock.Elapsed, counts.Before, counts.After, statements)
                {
                    RowsMerged = counts.RowsMerged,
                    LeftForReconcile = true,
                };
            }
            await CompleteAsync(merge, IlmStatus.Failed, message, clock.Elapsed, perSource: null).ConfigureAwait(false);
            return new ActionOutcome(merge, IlmStatus.Failed, message, kind, clock.Elapsed, counts.Before, counts.After, statements)
            {
                RowsMerged = counts.RowsMerged,
            };
        }

        // Without transactional DDL a mismatch cannot be undone; it means concurrent DML, not lost rows.
        var note = counts.After == counts.Before
            ? null
            : $"row count {counts.Before} before the merge, {counts.After} after (concurrent DML?)";
        if (counts.ChangesApplied is { } applied) note = note is null ? CaptureNote(applied) : $"{note}; {CaptureNote(applied)}";
        await CompleteAsync(merge, IlmStatus.Success, note, clock.Elapsed, counts.PerSource).ConfigureAwait(false);
        return new ActionOutcome(merge, IlmStatus.Success, note, null, clock.Elapsed, counts.Before, counts.After, statements)
        {
            RowsMerged = counts.RowsMerged,
            RowsWritten = counts.Written,
        };
    }

    /// <summary>
    /// A merge whose statement copies rows out of sight (Oracle's MERGE PARTITIONS): the sources are counted before and the
    /// result after.
    /// </summary>
    private async Task CountedMergeAsync(MergeAction merge, MergeScript script, MergeCounts counts, CancellationToken ct)
    {
        DbTransaction? transaction = null;
        try
        {
            await SimpleAsync(merge, "prepare", script.Prepare, ct).ConfigureAwait(false);
            if (dialect.TransactionalDdl) transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await LockAsync(merge, "lock", script.Lock, script.Retry, null, transaction, Stopwatch.StartNew(), ct).ConfigureAwait(false);
            foreach (var source in merge.Sources)
                counts.PerSource[source] = await connection.ScalarAsync<long>(provider, dialect.CountRows(layout, source), ct, transaction)
                    .ConfigureAwait(false);
            counts.Before = counts.PerSource.Values.Sum();
            counts.RowsMerged = merge.MergedSources.Sum(source => counts.PerSource[source]);
            for (var i = 0; i < script.Merge.Count; i++)
            {
                await SendAsync(merge, "merge", i, script.Merge[i], transaction, ct).ConfigureAwait(false);
                counts.Started = true;
            }
            counts.After = await connection.ScalarAsync<long>(provider, dialect.CountRows(layout, merge.TargetName), ct, transaction)
                .ConfigureAwait(false);
            if (counts.After != counts.Before && transaction != null)
                throw new PartitionOpsException(
                    $"row count changed during the merge: {counts.Before} before, {counts.After} after; rolled back");
            if (transaction != null) await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            if (transaction != null) await SafeRollbackAsync(transaction).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (transaction != null) await transaction.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ErrorKind Kind(Exception e) => e switch
    {
        LockWaitException => ErrorKind.LockTimeout,
        PartitionOpsException => ErrorKind.Permanent,
        _ => provider.Errors.Classify(e),
    };

    private async Task CompleteAsync(
        MergeAction merge, string status, string? error, TimeSpan duration, Dictionary<string, long>? perSource)
    {
        foreach (var source in merge.MergedSources)
        {
            long? rows = perSource != null && perSource.TryGetValue(source, out var n) ? n : null;
            await connection.ExecuteAsync(provider, dialect.CompleteMergeAudit(controlSchema,
                new MergeAuditEntry(layout.Schema, layout.Table, source, merge.TargetName, status, error, Seconds(duration), rows)),
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task SafeRollbackAsync(DbTransaction transaction)
    {
        try { await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is DbException or InvalidOperationException) { /* connection already broken: the server rolls back */ }
    }

    /// <summary>The note of a rebuild with change capture: rows_merged stays the copied rows, this says what came on top.</summary>
    internal static string CaptureNote(long applied) =>
        $"change capture: {applied} change(s) written to the partitions during the copy were applied after it";

    internal static decimal Seconds(TimeSpan t) => Math.Round((decimal)t.TotalSeconds, 3);
}
