using System.Globalization;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Ilm.Planning;

/// <summary>
/// One action chosen to run (<see cref="IlmRunRequest.Only"/>). <see cref="Kind"/> null means "whatever the plan does
/// with this partition" (`ilm run --only-partition P`): moved, merged into its yearly partition, or renamed to start
/// it. A merge key names the months merged in (a candidate's sources and target: the partition that grows, named as
/// the target, is not one of them); a move or rename key names its partition, and a rename its new name.
/// Names compare ignoring letter case, as partition names do everywhere in ILM.
/// </summary>
public sealed record IlmActionKey(IlmActionKind? Kind, IReadOnlyList<string> Partitions, string? Target = null)
{
    /// <summary>`--only-partition P`: the plan's action for partition P, whichever it is.</summary>
    public static IlmActionKey Partition(string partition) => new(null, [partition]);

    /// <summary>The spec's manual merge of one monthly partition into its yearly partition.</summary>
    public static IlmActionKey Merge(string month) => new(IlmActionKind.Merge, [month]);

    public static IlmActionKey Move(string partition) => new(IlmActionKind.Move, [partition]);

    public static IlmActionKey Rename(string partition, string newName) => new(IlmActionKind.Rename, [partition], newName);

    /// <summary>The key that selects exactly this planned action (what a candidate carries).</summary>
    public static IlmActionKey Of(IlmAction action) => action switch
    {
        MergeAction m => new(IlmActionKind.Merge, m.Sources, m.TargetName),
        MoveAction m => Move(m.PartitionName),
        RenameAction r => Rename(r.PartitionName, r.NewName),
        _ => throw new ArgumentException($"a {action.Kind} is not an action that runs", nameof(action)),
    };

    /// <summary>Merge: the partitions merged in (the named partitions other than the target).</summary>
    public IReadOnlyList<string> MergedPartitions => Target is null
        ? Partitions
        : Partitions.Where(p => !Same(p, Target)).ToList();

    public string Describe() => Kind switch
    {
        null => $"partition {string.Join(", ", Partitions)}",
        IlmActionKind.Merge => $"merge {string.Join(", ", MergedPartitions)}" + (Target is null ? "" : $" into {Target}"),
        IlmActionKind.Rename => $"rename {string.Join(", ", Partitions)}" + (Target is null ? "" : $" to {Target}"),
        _ => $"{Kind.Value.ToString().ToLowerInvariant()} {string.Join(", ", Partitions)}" + (Target is null ? "" : $" to {Target}"),
    };

    public override string ToString() => Describe();

    internal static bool Same(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// What the planner may emit when a run is limited to chosen actions (<see cref="IlmPlanOptions.Only"/>): months
/// merge only when chosen (so an unchosen month ends the run of months merging into its yearly partition), a move
/// or rename only when chosen. Built from keys whose kind is known (see <see cref="IlmActionSelector"/>).
/// </summary>
public sealed class IlmActionFilter
{
    private readonly IReadOnlyList<IlmActionKey> _keys;

    public IlmActionFilter(IEnumerable<IlmActionKey> keys)
    {
        _keys = keys.ToList();
        if (_keys.Any(k => k.Kind is null || k.Kind == IlmActionKind.Skip))
            throw new ArgumentException("filter keys name a move, merge or rename", nameof(keys));
    }

    public IReadOnlyList<IlmActionKey> Keys => _keys;

    /// <summary>Month <paramref name="month"/> may merge into <paramref name="target"/>.</summary>
    public bool AllowsMerge(string month, string target) =>
        _keys.Any(k => k.Kind == IlmActionKind.Merge && (k.Target is null || IlmActionKey.Same(k.Target, target))
                       && k.MergedPartitions.Any(p => IlmActionKey.Same(p, month)));

    public bool AllowsMove(MoveAction move) =>
        _keys.Any(k => k.Kind == IlmActionKind.Move && k.Partitions.Count == 1 && IlmActionKey.Same(k.Partitions[0], move.PartitionName)
                       && (k.Target is null || IlmActionKey.Same(k.Target, move.ToTablespace)));

    /// <summary>
    /// A rename chosen as such, or a chosen merge of the January that starts its yearly partition alone (the same change).
    /// </summary>
    public bool AllowsRename(string partition, string newName) =>
        _keys.Any(k => k.Kind == IlmActionKind.Rename && k.Partitions.Count == 1 && IlmActionKey.Same(k.Partitions[0], partition)
                       && (k.Target is null || IlmActionKey.Same(k.Target, newName)))
        || AllowsMerge(partition, newName);

    /// <summary>Whether the planned action is one of the chosen ones.</summary>
    public bool Allows(IlmAction action) => action switch
    {
        MergeAction m => m.MergedSources.All(s => AllowsMerge(s, m.TargetName)),
        // A chosen merge of the January that starts its yearly partition alone is its move and rename.
        MoveAction m => AllowsMove(m)
            || (PartitionName.Parse(m.PartitionName) is { Kind: PartitionNameKind.Monthly } n
                && AllowsMerge(m.PartitionName, n.YearlyName)),
        RenameAction r => AllowsRename(r.PartitionName, r.NewName),
        _ => false,
    };

    /// <summary>Whether <paramref name="key"/> is carried out by the plan's work.</summary>
    internal static bool SatisfiedBy(IlmActionKey key, IReadOnlyList<IlmAction> work) => key.Kind switch
    {
        IlmActionKind.Merge => key.MergedPartitions.All(p => work.Any(a => a switch
        {
            MergeAction m => (key.Target is null || IlmActionKey.Same(key.Target, m.TargetName))
                && m.MergedSources.Any(s => IlmActionKey.Same(s, p)),
            RenameAction r => (key.Target is null || IlmActionKey.Same(key.Target, r.NewName)) && IlmActionKey.Same(r.PartitionName, p),
            _ => false,
        })),
        IlmActionKind.Move => work.OfType<MoveAction>().Any(m => new IlmActionFilter([key]).AllowsMove(m)),
        IlmActionKind.Rename => work.OfType<RenameAction>().Any(r => IlmActionKey.Same(r.PartitionName, key.Partitions[0])
                                                                    && (key.Target is null || IlmActionKey.Same(key.Target, r.NewName))),
        _ => false,
    };
}

/// <summary>
/// Runs only chosen actions (<see cref="IlmRunRequest.Only"/>, `ilm run --only-partition`, Invoke-IlmPartitionMerge).
/// <list type="number">
/// <item>The table is planned as usual (config limits aside, see below): every chosen action must be in that plan;
/// one that is not (not due, already done, stale) is bad input naming it and saying why.</item>
/// <item>It is planned again with only the chosen actions allowed (<see cref="IlmActionFilter"/>), so the plan is the
/// one the run would make if nothing else ran: a chosen month merges with the months before it only if those are
/// chosen too, a January starts its yearly partition only after the merge that completes the year before it.</item>
/// <item>A chosen action that this second plan cannot carry out depends on one that was not chosen: bad input naming
/// both (nothing is added on its own: running something that was not asked for is what the selection prevents).
/// The merge-then-rename of Oracle and a merge that starts a new yearly partition are one action each, so choosing
/// the merge always runs its rename.</item>
/// </list>
/// A choice is explicit: AUTO_MERGE_PARTITIONS = N and MERGE_RETRY_FAILED = N govern automatic runs and do not hold a
/// chosen merge back (the spec's manual merge is how a merge that keeps failing is retried). MAX_MERGES_PER_RUN (or
/// --max-merges) still caps the merged partitions of one run, counted over the chosen ones only; choosing more is bad
/// input. The selected plan lists only the chosen work: its dry run shows only their SQL, and it writes no SKIPPED
/// audit rows (nothing was held back by a limit).
/// </summary>
public static class IlmActionSelector
{
    /// <summary>The CLI option the engine names in its errors; the cmdlets translate it to -Partition / -SourcePartition.</summary>
    public const string Parameter = nameof(IlmRunRequest.Only);

    /// <summary>
    /// The plan of only the chosen actions, or <see cref="InvalidRequestException"/> naming every choice that cannot run.
    /// </summary>
    public static IlmPlan Select(
        PartitionLayout layout, IlmPolicy policy, DateOnly asOf, IlmPlanOptions options, IReadOnlyList<IlmActionKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0) throw new InvalidRequestException(Parameter, "", "names no partition: choose at least one action");
        var explicitOptions = options with
        {
            MergesEnabled = true, DoNotMerge = new HashSet<string>(StringComparer.OrdinalIgnoreCase), Only = null,
        };
        var full = IlmPlanner.Plan(layout, policy, asOf, explicitOptions with { MaxMerges = null });
        var fullWork = full.Work.ToList();
        var table = string.IsNullOrEmpty(layout.Schema) ? layout.Table : $"{layout.Schema}.{layout.Table}";

        var problems = new List<(IlmActionKey Key, string Why)>();
        var concrete = new List<IlmActionKey>();
        foreach (var key in keys)
        {
            if (key.Partitions.Count == 0 || key.Partitions.Any(string.IsNullOrWhiteSpace))
            {
                problems.Add((key, "names no partition"));
                continue;
            }
            var resolved = Resolve(key, fullWork);
            if (resolved.Count == 0) problems.Add((key, WhyNotPlanned(key, full, layout, policy)));
            concrete.AddRange(resolved);
        }
        if (problems.Count > 0) throw Refuse(problems, table, asOf);

        var filter = new IlmActionFilter(concrete);
        var selected = IlmPlanner.Plan(layout, policy, asOf, explicitOptions with { MaxMerges = options.MaxMerges, Only = filter });
        var work = selected.Work.ToList();
        foreach (var key in concrete.Where(k => !IlmActionFilter.SatisfiedBy(k, work)))
            problems.Add((key, WhyNotAlone(key, full, fullWork, selected, filter, options.MaxMerges)));
        if (problems.Count > 0) throw Refuse(problems, table, asOf);
        if (work.FirstOrDefault(a => !filter.Allows(a)) is { } stray)
            throw new InvalidOperationException($"the selected plan has an action that was not chosen: {stray.Describe()}");
        return selected with { Actions = work };
    }

    /// <summary>The keys of known kind a key stands for in the table's plan; none when the plan has no such action.</summary>
    private static List<IlmActionKey> Resolve(IlmActionKey key, IReadOnlyList<IlmAction> work)
    {
        var result = new List<IlmActionKey>();
        switch (key.Kind)
        {
            case null:
            {
                foreach (var partition in key.Partitions)
                {
                    if (work.OfType<MergeAction>().FirstOrDefault(m => m.MergedSources.Any(s => IlmActionKey.Same(s, partition)))
                        is { } merge)
                        result.Add(new IlmActionKey(IlmActionKind.Merge, [partition], merge.TargetName));
                    foreach (var move in work.OfType<MoveAction>().Where(m => IlmActionKey.Same(m.PartitionName, partition)))
                        result.Add(IlmActionKey.Move(move.PartitionName));
                    foreach (var rename in work.OfType<RenameAction>().Where(r => IlmActionKey.Same(r.PartitionName, partition)))
                        result.Add(IlmActionKey.Rename(rename.PartitionName, rename.NewName));
                }
                // Every named partition must have an action; otherwise the key as a whole is a problem.
                return key.Partitions.All(x => result.Any(k => k.Partitions.Any(y => IlmActionKey.Same(x, y)))) ? result : [];
            }
            case IlmActionKind.Merge:
            {
                var merged = key.MergedPartitions;
                if (merged.Count == 0) return [];
                var covered = merged.All(p => work.Any(a => a switch
                {
                    MergeAction m => (key.Target is null || IlmActionKey.Same(key.Target, m.TargetName))
                        && m.MergedSources.Any(s => IlmActionKey.Same(s, p)),
                    RenameAction r => (key.Target is null || IlmActionKey.Same(key.Target, r.NewName))
                        && IlmActionKey.Same(r.PartitionName, p),
                    _ => false,
                }));
                return covered ? [key] : [];
            }
            case IlmActionKind.Move or IlmActionKind.Rename:
                return IlmActionFilter.SatisfiedBy(key, work) ? [key] : [];
            default:
                return [];
        }
    }

    /// <summary>Why the table's plan has no such action.</summary>
    private static string WhyNotPlanned(IlmActionKey key, IlmPlan full, PartitionLayout layout, IlmPolicy policy)
    {
        var date = full.AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var reasons = new List<string>();
        foreach (var partition in key.Kind == IlmActionKind.Merge ? key.MergedPartitions : key.Partitions)
        {
            var part = layout.Partitions.FirstOrDefault(p => IlmActionKey.Same(p.Name, partition));
            if (part is null)
            {
                reasons.Add($"{layout.Table} has no partition {partition}");
                continue;
            }
            var work = full.Work.Where(a => Touches(a, partition)).ToList();
            if (work.Count > 0)
            {
                if (work.OfType<MergeAction>().Any(m => IlmActionKey.Same(m.Head, partition) && IlmActionKey.Same(m.TargetName, partition)))
                {
                    var months = work.OfType<MergeAction>().SelectMany(m => m.MergedSources);
                    reasons.Add($"{partition} is the partition others merge into: " +
                                $"choose the months that merge into it ({string.Join(", ", months)})");
                }
                else
                    reasons.Add($"the plan as of {date} has {string.Join("; ", work.Select(a => a.Describe()))}, not {key.Describe()}");
                continue;
            }
            if (full.Actions.OfType<SkipAction>().FirstOrDefault(s => IlmActionKey.Same(s.PartitionName, partition)) is { } skip)
            {
                reasons.Add($"{partition} is not due as of {date}: {skip.Reason}");
                continue;
            }
            var tier = policy.TierOf(part.UpperBound, full.AsOf);
            reasons.Add(tier == IlmTier.Hot
                ? $"{partition} is still HOT as of {date}: nothing to do"
                : $"{partition} is already where its tier ({tier.ToString().ToUpperInvariant()}) wants it as of {date}: nothing to do");
        }
        return string.Join("; ", reasons.Distinct());
    }

    private static bool Touches(IlmAction action, string partition) => action switch
    {
        MergeAction m => m.Sources.Any(s => IlmActionKey.Same(s, partition)) || IlmActionKey.Same(m.TargetName, partition),
        RenameAction r => IlmActionKey.Same(r.PartitionName, partition) || IlmActionKey.Same(r.NewName, partition),
        _ => IlmActionKey.Same(action.Partition, partition),
    };

    /// <summary>
    /// Why a chosen action that is in the table's plan cannot run with only the chosen ones: what it needs, or the merge limit.
    /// </summary>
    private static string WhyNotAlone(
        IlmActionKey key, IlmPlan full, IReadOnlyList<IlmAction> fullWork, IlmPlan selected, IlmActionFilter filter, int? maxMerges)
    {
        var partitions = key.Kind == IlmActionKind.Merge ? key.MergedPartitions : key.Partitions;
        if (maxMerges is { } cap
            && selected.Actions.OfType<SkipAction>().Any(s =>
                s.WouldMergeInto != null && partitions.Any(p => IlmActionKey.Same(p, s.PartitionName))))
            return $"more partitions are chosen to merge than MAX_MERGES_PER_RUN ({cap}, or the run's own limit) allows in one run: " +
                   "choose fewer, or raise the limit";
        var needs = new List<string>();
        foreach (var partition in partitions)
            Needs(partition, fullWork, full.Strategy, filter, needs, depth: 0);
        return needs.Count == 0
            ? "cannot run on its own: run the table's whole plan"
            : $"needs {string.Join("; ", needs.Distinct())}: choose {(needs.Distinct().Count() == 1 ? "it" : "them")} too";
    }

    /// <summary>The unchosen actions of the table's plan that <paramref name="partition"/>'s action depends on.</summary>
    private static void Needs(
        string partition, IReadOnlyList<IlmAction> fullWork, MergeStrategy strategy, IlmActionFilter filter, List<string> needs, int depth)
    {
        if (depth > 100) return;
        // The months merging into the same target, in bound order (pairwise merges chain into one target too).
        var index = fullWork.ToList().FindIndex(a => a switch
        {
            MergeAction m => m.MergedSources.Any(s => IlmActionKey.Same(s, partition)),
            RenameAction r => IlmActionKey.Same(r.PartitionName, partition),
            _ => false,
        });
        if (index < 0) return;
        var action = fullWork[index];
        var target = action is MergeAction ma ? ma.TargetName : ((RenameAction)action).NewName;
        var chain = fullWork.OfType<MergeAction>().Where(m => IlmActionKey.Same(m.TargetName, target)).ToList();
        var months = chain.SelectMany(m => m.MergedSources).ToList();
        var position = months.FindIndex(s => IlmActionKey.Same(s, partition));
        var before = (strategy == MergeStrategy.YearComplete ? months : months.Take(Math.Max(0, position)))
            .Where(s => !IlmActionKey.Same(s, partition) && !filter.AllowsMerge(s, target)).ToList();
        if (before.Count > 0)
            needs.Add($"merge {string.Join(", ", before)} into {target} " +
                      (strategy == MergeStrategy.YearComplete
                          ? "(strategy year_complete merges the year's months together)"
                          : "(adjacent months merge in bound order)"));

        // A January that starts its yearly partition follows the merge that completes the year before it.
        var first = chain.FirstOrDefault() as IlmAction ?? action;
        var starts = first switch
        {
            MergeAction m when !IlmActionKey.Same(m.Head, m.TargetName) => m.Head,
            RenameAction r => r.PartitionName,
            _ => null,
        };
        if (starts is null) return;
        var startIndex = fullWork.ToList().IndexOf(first);
        var completing = fullWork.Take(startIndex).OfType<MergeAction>().LastOrDefault();
        if (completing is null || PartitionName.Parse(completing.TargetName).Kind != PartitionNameKind.Yearly
            || PartitionName.Parse(completing.TargetName).Year != PartitionName.Parse(starts).Year - 1) return;
        var missing = completing.MergedSources.Where(s => !filter.AllowsMerge(s, completing.TargetName)).ToList();
        if (missing.Count == 0) return;
        needs.Add($"merge {string.Join(", ", missing)} into {completing.TargetName} " +
                  $"({starts} starts {target} only after {completing.TargetName} is complete)");
        Needs(missing[^1], fullWork, strategy, filter, needs, depth + 1);
    }

    private static InvalidRequestException Refuse(List<(IlmActionKey Key, string Why)> problems, string table, DateOnly asOf) =>
        new(Parameter,
            string.Join(", ", problems
                .SelectMany(p => p.Key.Kind == IlmActionKind.Merge ? p.Key.MergedPartitions : p.Key.Partitions)
                .Distinct(StringComparer.OrdinalIgnoreCase)),
            $"cannot run on {table} as of {asOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}, nothing was changed: " +
            string.Join("; ", problems.Select(p => $"{p.Key.Describe()}: {p.Why}")));
}
