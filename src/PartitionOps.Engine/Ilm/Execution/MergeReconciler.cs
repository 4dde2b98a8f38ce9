using PartitionOps.Engine.Ilm.Model;

namespace PartitionOps.Engine.Ilm.Execution;

/// <summary>One dwh_ilm_partition_merges row as read back.</summary>
public sealed record MergeAuditRecord(
    long MergeId,
    DateTime? MergeDate,
    string TableOwner,
    string TableName,
    string SourcePartition,
    string TargetPartition,
    string MergeStatus,
    string? ErrorMessage,
    decimal? DurationSeconds,
    long? RowsMerged);

public enum ReconcileOutcome
{
    /// <summary>The merge (and rename) finished before the run stopped: the rows become SUCCESS.</summary>
    Completed,
    /// <summary>The merge ran but the rename did not (Oracle): rename now, then SUCCESS.</summary>
    RenameNeeded,
    /// <summary>Nothing happened (or a PostgreSQL transaction rolled back): FAILED, retried like any failure.</summary>
    NotStarted,
    /// <summary>The catalog matches neither state: FAILED, left for a person to look at.</summary>
    Unclear,
}

/// <summary>What to do with the IN_PROGRESS rows of one interrupted merge.</summary>
public sealed record ReconcileDecision(
    string TargetPartition,
    IReadOnlyList<MergeAuditRecord> Rows,
    ReconcileOutcome Outcome,
    string? RenameFrom,
    string Message);

/// <summary>
/// Decides, from the catalog, how an interrupted merge ended. A merge writes IN_PROGRESS rows (one per
/// merged source) before it starts. On Oracle the merge goes into the highest source's name and is then
/// renamed to the target, so after a crash the catalog shows one of: all sources still there (never
/// ran), the highest source alone holding the range (rename missing), or the target alone (done).
/// </summary>
public static class MergeReconciler
{
    public static IReadOnlyList<ReconcileDecision> Decide(PartitionLayout layout, IReadOnlyList<MergeAuditRecord> inProgress)
    {
        var names = new HashSet<string>(layout.Partitions.Select(p => p.Name), StringComparer.OrdinalIgnoreCase);
        var decisions = new List<ReconcileDecision>();
        foreach (var group in inProgress.GroupBy(r => r.TargetPartition, StringComparer.OrdinalIgnoreCase))
        {
            var rows = group.ToList();
            var target = group.Key;
            var sources = rows.Select(r => r.SourcePartition).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            // P_YYYY_MM names sort in bound order: the last one holds the merged range before the rename.
            var highest = sources.OrderBy(s => s, StringComparer.OrdinalIgnoreCase).Last();
            var present = sources.Where(names.Contains).ToList();
            var targetPresent = names.Contains(target);

            if (present.Count == sources.Count)
                decisions.Add(new(target, rows, ReconcileOutcome.NotStarted, null,
                    "interrupted before the merge took effect: marked FAILED, retried like any failed merge"));
            else if (present.Count == 0 && targetPresent)
                decisions.Add(new(target, rows, ReconcileOutcome.Completed, null,
                    "the merge finished before the run was interrupted: marked SUCCESS"));
            else if (!targetPresent && present.Count == 1 && present[0].Equals(highest, StringComparison.OrdinalIgnoreCase))
                decisions.Add(new(target, rows, ReconcileOutcome.RenameNeeded, highest,
                    $"merged into {highest} but not renamed when the run was interrupted: renamed to {target}"));
            else
                decisions.Add(new(target, rows, ReconcileOutcome.Unclear, null,
                    $"interrupted merge into {target} left {(present.Count == 0 ? "no source" : string.Join(", ", present))} and {(targetPresent ? "the" : "no")} target: marked FAILED, check by hand"));
        }
        return decisions;
    }
}
