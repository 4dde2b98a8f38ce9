using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
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
}

/// <summary>Progress of a run: which action is starting or has ended.</summary>
public sealed record IlmProgress(string Table, int Index, int Count, IlmAction Action, string Stage, ActionOutcome? Outcome = null);

/// <summary>
/// Runs a plan's actions one at a time on one connection, writing the audit rows. A failed action
/// does not stop the ones after it (a failed merge does not undo the move before it).
/// </summary>
internal sealed class IlmExecutor(
    DbConnection connection,
    IDatabaseProvider provider,
    IIlmDialect dialect,
    string? controlSchema,
    PartitionLayout layout,
    bool online)
{
    public static IReadOnlyList<SqlStatement> StatementsFor(IIlmDialect dialect, PartitionLayout layout, IlmAction action, bool online) => action switch
    {
        MoveAction m => dialect.Move(layout, m, online),
        MergeAction m => dialect.Merge(layout, m, online).All.ToList(),
        RenameAction r => dialect.Rename(layout, r),
        _ => [],
    };

    public async Task<ActionOutcome> RunAsync(IlmAction action, CancellationToken ct) => action switch
    {
        MergeAction merge => await MergeAsync(merge, ct).ConfigureAwait(false),
        MoveAction move => await SimpleAsync(move, "MOVE", move.FromTablespace, move.ToTablespace, dialect.Move(layout, move, online), ct).ConfigureAwait(false),
        RenameAction rename => await SimpleAsync(rename, "RENAME", null, null, dialect.Rename(layout, rename), ct).ConfigureAwait(false),
        _ => new ActionOutcome(action, IlmStatus.Skipped, null, null, TimeSpan.Zero, null, null, []),
    };

    private async Task<ActionOutcome> SimpleAsync(IlmAction action, string kind, string? from, string? to,
        IReadOnlyList<SqlStatement> statements, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        string? error = null;
        ErrorKind? errorKind = null;
        try
        {
            foreach (var s in statements) await connection.ExecuteAsync(provider, s, ct).ConfigureAwait(false);
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

    private async Task<ActionOutcome> MergeAsync(MergeAction merge, CancellationToken ct)
    {
        var script = dialect.Merge(layout, merge, online);
        var statements = script.All.ToList();
        var merged = merge.MergedSources;
        foreach (var source in merged)
            await connection.ExecuteAsync(provider, dialect.InsertMergeAudit(controlSchema,
                new MergeAuditEntry(layout.Schema, layout.Table, source, merge.TargetName, IlmStatus.InProgress)), ct).ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        DbTransaction? transaction = null;
        var mergeStarted = false;
        var perSource = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        long? before = null, after = null, rowsMerged = null;
        try
        {
            foreach (var s in script.Prepare) await connection.ExecuteAsync(provider, s, ct).ConfigureAwait(false);
            if (dialect.TransactionalDdl) transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            foreach (var s in script.Lock) await connection.ExecuteAsync(provider, s, ct, transaction).ConfigureAwait(false);
            foreach (var source in merge.Sources)
                perSource[source] = await connection.ScalarAsync<long>(provider, dialect.CountRows(layout, source), ct, transaction).ConfigureAwait(false);
            before = perSource.Values.Sum();
            rowsMerged = merged.Sum(source => perSource[source]);
            foreach (var s in script.Merge)
            {
                await connection.ExecuteAsync(provider, s, ct, transaction).ConfigureAwait(false);
                mergeStarted = true;
            }
            after = await connection.ScalarAsync<long>(provider, dialect.CountRows(layout, merge.TargetName), ct, transaction).ConfigureAwait(false);
            if (after != before && transaction != null)
                throw new PartitionOpsException($"row count changed during the merge: {before} before, {after} after; rolled back");
            if (transaction != null) await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            if (transaction != null) await SafeRollbackAsync(transaction).ConfigureAwait(false);
            var kind = e is PartitionOpsException ? Providers.ErrorKind.Permanent : provider.Errors.Classify(e);
            var message = $"{kind}: {e.Message}";
            if (mergeStarted && transaction is null)
            {
                // DDL already committed (Oracle): leave the rows IN_PROGRESS so the next run reconciles.
                message += " (the merge statement ran; the next run reconciles it from the IN_PROGRESS audit rows)";
                return new ActionOutcome(merge, IlmStatus.Failed, message, kind, clock.Elapsed, before, after, statements)
                {
                    RowsMerged = rowsMerged,
                    LeftForReconcile = true,
                };
            }
            await CompleteAsync(merge, IlmStatus.Failed, message, clock.Elapsed, perSource: null).ConfigureAwait(false);
            return new ActionOutcome(merge, IlmStatus.Failed, message, kind, clock.Elapsed, before, after, statements) { RowsMerged = rowsMerged };
        }
        finally
        {
            if (transaction != null) await transaction.DisposeAsync().ConfigureAwait(false);
        }

        // Without transactional DDL a mismatch cannot be undone; it means concurrent DML, not lost rows.
        var note = after == before ? null : $"row count {before} before the merge, {after} after (concurrent DML?)";
        await CompleteAsync(merge, IlmStatus.Success, note, clock.Elapsed, perSource).ConfigureAwait(false);
        return new ActionOutcome(merge, IlmStatus.Success, note, null, clock.Elapsed, before, after, statements) { RowsMerged = rowsMerged };
    }

    private async Task CompleteAsync(MergeAction merge, string status, string? error, TimeSpan duration, Dictionary<string, long>? perSource)
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

    internal static decimal Seconds(TimeSpan t) => Math.Round((decimal)t.TotalSeconds, 3);
}
