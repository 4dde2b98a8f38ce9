using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Planning;

namespace PartitionOps.PowerShell.Ilm;

/// <summary>One action Invoke-IlmPartitionMerge was asked to run: a piped candidate, or a partition named with -Partition.</summary>
public sealed record IlmSelectedAction(string Action, IReadOnlyList<string> SourcePartitions, string? TargetPartition)
{
    /// <summary>-Partition P_2023_11: the spec's manual merge_monthly_into_yearly of one monthly partition.</summary>
    public static IlmSelectedAction MergeOf(string partition) => new("Merge", [partition], null);

    public bool IsMerge => Action.Equals("Merge", StringComparison.OrdinalIgnoreCase);

    /// <summary>For a merge: the partitions that disappear into the target (a named partition is one of them).</summary>
    public IReadOnlyList<string> MergedSources => TargetPartition is null
        ? SourcePartitions
        : SourcePartitions.Where(s => !s.Equals(TargetPartition, StringComparison.OrdinalIgnoreCase)).ToList();

    public string Describe() => IsMerge
        ? $"merge {string.Join(", ", SourcePartitions)}" + (TargetPartition is null ? "" : $" into {TargetPartition}")
        : $"{Action.ToLowerInvariant()} {string.Join(", ", SourcePartitions)}" + (TargetPartition is null ? "" : $" to {TargetPartition}");
}

/// <summary>
/// How Invoke-IlmPartitionMerge runs only what it was given. The engine has no call that executes chosen
/// actions: IlmService.RunAsync plans the table and runs the whole plan. What it can restrict is the number of
/// merged partitions (MAX_MERGES_PER_RUN, counted in plan order). So: find the selected merges in the table's
/// current plan, cap the run at the last of them, re-plan with that cap and check that exactly the selected
/// merges (plus any earlier ones the cap cannot leave out) are in it; everything else the capped plan would
/// run (moves, renames, earlier merges) is reported as additional, and runs only with -Force.
/// </summary>
public static class IlmSelection
{
    /// <summary>Merged partitions of a plan, in the order the planner spends MAX_MERGES_PER_RUN on them.</summary>
    public static IReadOnlyList<string> MergedSources(IlmPlanResult plan) =>
        plan.Plan.Actions.OfType<MergeAction>().SelectMany(m => m.MergedSources).ToList();

    /// <summary>
    /// Matches the selection against the table's plan (made without a cap). Returns the cap for the run and the
    /// selected actions that are not in the plan (stale candidates, or a partition that is not due to merge: with the reason).
    /// </summary>
    public static (int MaxMerges, IReadOnlyList<string> Problems) Resolve(IlmPlanResult plan, IReadOnlyList<IlmSelectedAction> selection)
    {
        var merged = MergedSources(plan);
        var problems = new List<string>();
        var last = -1;
        foreach (var s in selection.Where(s => s.IsMerge))
        {
            foreach (var source in s.MergedSources)
            {
                var i = IndexOf(merged, source);
                if (i >= 0) last = Math.Max(last, i);
                else problems.Add($"{source}: {WhyNotMerged(plan, source)}");
            }
        }
        foreach (var s in selection.Where(s => !s.IsMerge && !IsSkip(s)))
        {
            if (!plan.Steps.Any(step => Matches(step.Action, s)))
                problems.Add($"{s.Describe()}: no longer in the plan of {plan.Layout.Schema}.{plan.Layout.Table} (it changed since the candidate was made)");
        }
        return (last + 1, problems);
    }

    /// <summary>
    /// Checks the capped plan: the partitions it merges must be exactly the first <paramref name="maxMerges"/> of
    /// the uncapped plan (the planner may not be able to stop there, e.g. a January that starts its year). Null when
    /// it is; otherwise why the selection cannot run on its own.
    /// </summary>
    public static string? Verify(IlmPlanResult uncapped, IlmPlanResult capped, int maxMerges)
    {
        var expected = MergedSources(uncapped).Take(maxMerges).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var actual = MergedSources(capped);
        if (expected.SetEquals(actual) && actual.Count == expected.Count) return null;
        return $"the engine cannot stop after {maxMerges} merged partition(s) here: with that limit it would merge "
            + (actual.Count == 0 ? "nothing" : string.Join(", ", actual))
            + $" instead of {string.Join(", ", expected)}; run Invoke-IlmMaintenance for the table, or select up to the end of that merge";
    }

    /// <summary>
    /// What the (capped) plan would run that the selection did not ask for, in words: actions not selected, and
    /// months of a selected merge that were not selected themselves (adjacent months merge in bound order).
    /// </summary>
    public static IReadOnlyList<string> Additional(IlmPlanResult plan, IReadOnlyList<IlmSelectedAction> selection)
    {
        var result = new List<string>();
        foreach (var action in plan.Steps.Select(s => s.Action))
        {
            if (!IsRequested(action, selection))
            {
                result.Add(action.Describe());
                continue;
            }
            if (action is not MergeAction merge) continue;
            var unselected = merge.MergedSources
                .Where(source => !selection.Any(s => s.IsMerge && s.MergedSources.Contains(source, StringComparer.OrdinalIgnoreCase)))
                .ToList();
            if (unselected.Count > 0)
                result.Add($"merge {string.Join(", ", unselected)} into {merge.TargetName} (the same statement: adjacent months merge in bound order)");
        }
        return result;
    }

    /// <summary>Whether the action (planned or run) is one the selection asked for; a merge counts when any merged partition was asked for.</summary>
    public static bool IsRequested(IlmAction action, IReadOnlyList<IlmSelectedAction> selection) => action switch
    {
        MergeAction m => m.MergedSources.Any(source => selection.Any(s => s.IsMerge && s.MergedSources.Contains(source, StringComparer.OrdinalIgnoreCase))),
        _ => selection.Any(s => Matches(action, s)),
    };

    public static bool IsSkip(IlmSelectedAction s) => s.Action.Equals("Skip", StringComparison.OrdinalIgnoreCase);

    private static bool Matches(IlmAction action, IlmSelectedAction s) => action switch
    {
        MoveAction m => s.Action.Equals("Move", StringComparison.OrdinalIgnoreCase) && Same(s.SourcePartitions, [m.PartitionName]),
        RenameAction r => s.Action.Equals("Rename", StringComparison.OrdinalIgnoreCase) && Same(s.SourcePartitions, [r.PartitionName])
            && (s.TargetPartition is null || s.TargetPartition.Equals(r.NewName, StringComparison.OrdinalIgnoreCase)),
        MergeAction m => s.IsMerge && s.MergedSources.Any(x => m.MergedSources.Contains(x, StringComparer.OrdinalIgnoreCase)),
        _ => false,
    };

    private static string WhyNotMerged(IlmPlanResult plan, string partition)
    {
        var actions = plan.Plan.Actions;
        if (actions.OfType<SkipAction>().FirstOrDefault(a => Is(a.PartitionName, partition)) is { } skip)
            return $"not due to merge as of {IlmMapping.Date(plan.Plan.AsOf)}: {skip.Reason}";
        if (actions.FirstOrDefault(a => a is MoveAction or RenameAction && Is(a.Partition, partition)) is { } other)
            return $"not due to merge as of {IlmMapping.Date(plan.Plan.AsOf)}; the plan has: {other.Describe()}";
        if (actions.OfType<MergeAction>().Any(m => Is(m.TargetName, partition)))
            return "is the partition others merge into: name a monthly partition that merges into it";
        return plan.Layout.Partitions.Any(p => Is(p.Name, partition))
            ? $"not due to merge as of {IlmMapping.Date(plan.Plan.AsOf)} (still in its tier, HOT, or nothing to do)"
            : $"{plan.Layout.Schema}.{plan.Layout.Table} has no such partition";
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++) if (Is(names[i], name)) return i;
        return -1;
    }

    private static bool Same(IReadOnlyList<string> a, IReadOnlyList<string> b) =>
        a.Count == b.Count && a.Zip(b).All(x => Is(x.First, x.Second));

    private static bool Is(string a, string b) => a.Equals(b, StringComparison.OrdinalIgnoreCase);
}
