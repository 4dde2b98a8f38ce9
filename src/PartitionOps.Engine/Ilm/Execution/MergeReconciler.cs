using System.Globalization;
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
/// merged source, the partition that grows not included when it keeps its name) before it starts. On Oracle
/// the merge goes into the highest source's name and is then renamed to the target (ORA-14275), so after a
/// crash the catalog shows one of:
/// <list type="bullet">
/// <item>not started: every source still holds exactly its month, and the target exists (it is the partition
/// that grows) or the merge starts a new yearly partition (the target never existed: two sources or more);</item>
/// <item>merged, not renamed: the target is gone, the other sources too, and the highest source now holds the
/// merged range: it ends where its month ends but starts before its month (one-month merge, where its name alone
/// looks unchanged) or at the lowest source's month, within the target's year;</item>
/// <item>completed: no source left and the target ends where the highest source's month ends;</item>
/// <item>anything else (a partition dropped or merged by hand meanwhile): FAILED, left for a person to look at.</item>
/// </list>
/// Bounds come from the layout (<see cref="PartitionLayout.InBoundOrder"/>), not only names: after a one-month merge
/// every source name is still there.
/// </summary>
public static class MergeReconciler
{
    public static IReadOnlyList<ReconcileDecision> Decide(PartitionLayout layout, IReadOnlyList<MergeAuditRecord> inProgress)
    {
        var parts = layout.InBoundOrder()
            .GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        var decisions = new List<ReconcileDecision>();
        foreach (var group in inProgress.GroupBy(r => r.TargetPartition, StringComparer.OrdinalIgnoreCase))
            decisions.Add(DecideOne(parts, group.Key, group.ToList()));
        return decisions;
    }

    private static ReconcileDecision DecideOne(Dictionary<string, PartitionInfo> parts, string target, List<MergeAuditRecord> rows)
    {
        var sources = rows.Select(r => r.SourcePartition).Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(PartitionName.Parse).ToList();
        var label = $"interrupted merge of {string.Join(", ", sources.Select(s => s.Name))} into {target}";
        if (sources.Any(s => s.Kind != PartitionNameKind.Monthly))
            return new(target, rows, ReconcileOutcome.Unclear, null,
                $"{label}: its sources are not all P_YYYY_MM months, so the catalog cannot tell how far it got: " +
                "marked FAILED, check by hand");

        sources = sources.OrderBy(s => s.Start).ToList();
        var lowStart = sources[0].Start;
        var highest = sources[^1];
        var highEnd = highest.Start.AddMonths(1);
        var targetName = PartitionName.Parse(target);
        var yearStart = targetName.Kind == PartitionNameKind.Yearly ? targetName.Start : (DateTime?)null;

        var present = sources.Where(s => parts.ContainsKey(s.Name)).ToList();
        var targetPart = parts.GetValueOrDefault(target);

        // Completed: the sources are gone into the target, which now reaches the end of the highest month.
        if (present.Count == 0 && targetPart is { } t && t.UpperBound == highEnd && (t.LowerBound is null || t.LowerBound <= lowStart))
            return new(target, rows, ReconcileOutcome.Completed, null,
                "the merge finished before the run was interrupted: marked SUCCESS");

        // Merged, not renamed: only the highest source is left, holding the merged range under its own name.
        if (targetPart is null && present.Count == 1 && present[0] == highest)
        {
            var h = parts[highest.Name];
            var lower = h.LowerBound;
            if (h.UpperBound == highEnd
                && (lower is null || (lower < highest.Start && lower <= lowStart && (yearStart is null || lower >= yearStart))))
                return new(target, rows, ReconcileOutcome.RenameNeeded, h.Name,
                    $"merged into {h.Name} (now {Range(lower, h.UpperBound)}) but not renamed when the run was interrupted: " +
                    $"renamed to {target}");
        }

        // Not started: every source still holds exactly its month, next to the target that grows, or starting a new yearly one.
        if (present.Count == sources.Count && sources.All(s => s.BoundsMatch(parts[s.Name]))
            && (targetPart is { } grows ? grows.UpperBound == lowStart : sources.Count >= 2))
            return new(target, rows, ReconcileOutcome.NotStarted, null,
                "interrupted before the merge took effect: marked FAILED, retried like any failed merge");

        var found = string.Join(", ", sources.Select(s =>
            parts.TryGetValue(s.Name, out var p) ? $"{p.Name} {Range(p.LowerBound, p.UpperBound)}" : $"no {s.Name}"));
        var targetFound = targetPart is { } tp ? $"{tp.Name} {Range(tp.LowerBound, tp.UpperBound)}" : $"no {target}";
        return new(target, rows, ReconcileOutcome.Unclear, null,
            $"{label} left {found} and {targetFound}: that is neither not started " +
            $"(every source holding its month{(sources.Count >= 2 ? "" : $", next to {target}")}), " +
            $"merged but not renamed ({highest.Name} alone holding the merged range up to {Date(highEnd)}, no {target}) nor completed " +
            $"({target} up to {Date(highEnd)}, no source): marked FAILED, check by hand");
    }

    private static string Date(DateTime? d) => d?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "MAXVALUE";

    private static string Range(DateTime? lower, DateTime? upper) =>
        $"[{lower?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "MINVALUE"}, {Date(upper)})";
}
