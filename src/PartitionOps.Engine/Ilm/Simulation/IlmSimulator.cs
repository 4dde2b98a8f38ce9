using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Ilm.Simulation;

/// <summary>Partitions per tier after one simulated month.</summary>
public sealed record SimulatedMonth(
    DateOnly AsOf,
    int HotMonthly,
    int WarmYearly,
    int WarmMonthly,
    int ColdYearly,
    int ColdMonthly,
    int Moves,
    int Merges,
    int Renames,
    long RowsRewritten,
    long CumulativeRowsRewritten);

/// <summary>One strategy's walk from the first month to the last.</summary>
public sealed record StrategySimulation(MergeStrategy Strategy, IReadOnlyList<SimulatedMonth> Months, PartitionLayout FinalLayout)
{
    public long RowsRewritten => Months.Count == 0 ? 0 : Months[^1].CumulativeRowsRewritten;
    public long MergeOperations => Months.Sum(m => m.Merges);

    /// <summary>The same walk costed per merge method, where the engine offers a choice (PostgreSQL); empty otherwise.</summary>
    public IReadOnlyList<MethodCost> Methods { get; init; } = [];
}

/// <summary>
/// What one merge method costs over a simulated walk (catalog estimates): rows it writes, rows that reached a colder tier
/// (moved or merged months), and its longest exclusive lock: on what, and over how much work (metadata only, or a copy
/// of <see cref="LongestLockRows"/> rows).
/// </summary>
public sealed record MethodCost(MergeMethod Method, long RowsRewritten, long AgedRows, string LongestExclusiveLock, long LongestLockRows)
{
    /// <summary>Rows written per row that aged; null when nothing aged.</summary>
    public double? RowsWrittenPerAgedRow => AgedRows == 0 ? null : Math.Round((double)RowsRewritten / AgedRows, 2);
}

public sealed record IlmSimulationResult(DateOnly From, DateOnly To, IReadOnlyList<StrategySimulation> Strategies);

/// <summary>
/// ilm simulate: runs the planner month by month from <c>from</c> to <c>to</c>, applying each plan to
/// the layout, and adds the new month's HOT partition as time passes, so strategies can be compared
/// by partitions per tier and rows rewritten.
/// </summary>
public static class IlmSimulator
{
    public static IlmSimulationResult Simulate(PartitionLayout layout, IlmPolicy policy, DateOnly from, DateOnly to,
        IReadOnlyList<MergeStrategy>? strategies = null, IlmPlanOptions? options = null, long? rowsPerNewMonth = null,
        IReadOnlyList<MergeMethod>? methods = null)
    {
        if (to < from)
            throw new InvalidRequestException(
                nameof(IlmSimulateRequest.To), to.ToString("yyyy-MM-dd"), $"is before the first date {from:yyyy-MM-dd}");
        var months = (to.Year - from.Year) * 12 + to.Month - from.Month + 1;
        if (months > 1200)
            throw new InvalidRequestException(
                nameof(IlmSimulateRequest.To), to.ToString("yyyy-MM-dd"), "is more than 100 years after the first date");
        strategies ??= [MergeStrategy.Incremental, MergeStrategy.YearComplete];
        var newRows = rowsPerNewMonth ?? TypicalMonthRows(layout);
        var results = strategies.Select(s => Run(layout, policy with { Strategy = s }, from, months, options, newRows) with
        {
            Methods = (methods ?? [])
                .Select(m => Cost(layout, policy with { Strategy = s, MergeMethod = m }, from, months, options, newRows)).ToList(),
        }).ToList();
        return new IlmSimulationResult(from, to, results);
    }

    /// <summary>
    /// One method's costs: rebuild rewrites the partition that grows as well (it is copied beside the live one) but holds
    /// the partitioned table's exclusive lock for metadata only; in_place copies only the months, under that lock.
    /// </summary>
    private static MethodCost Cost(PartitionLayout layout, IlmPolicy policy, DateOnly from, int months, IlmPlanOptions? options,
        long newRows)
    {
        var rebuild = policy.MergeMethod == MergeMethod.Rebuild;
        var methodOptions = (options ?? new IlmPlanOptions()) with
        {
            MergeRewritesTarget = rebuild || (options?.MergeRewritesTarget ?? true),
        };
        long written = 0, aged = 0, longestCopy = 0;
        var current = layout;
        for (var i = 0; i < months; i++)
        {
            var asOf = new DateOnly(from.Year, from.Month, 1).AddMonths(i);
            current = AddMonthsUpTo(current, asOf, policy, newRows);
            var plan = IlmPlanner.Plan(current, policy, asOf, methodOptions);
            current = PlanEffects.Apply(current, plan);
            written += plan.RowsRewritten;
            foreach (var action in plan.Actions)
            {
                switch (action)
                {
                    case MergeAction m:
                        // Rows that reach the tier with this merge: months not there yet, and the head when it relocates.
                        aged += m.MovesIfFailed.Sum(x => x.RowEstimate ?? 0)
                            + (string.Equals(m.HeadTablespace, m.Tablespace, StringComparison.OrdinalIgnoreCase)
                                ? 0
                                : m.HeadRowEstimate ?? 0);
                        longestCopy = Math.Max(longestCopy, m.MonthsRowEstimate ?? 0);
                        break;
                    case MoveAction m:
                        aged += m.RowEstimate ?? 0;
                        break;
                }
            }
        }
        return rebuild
            ? new MethodCost(MergeMethod.Rebuild, written, aged,
                "ACCESS EXCLUSIVE on the partitioned table for metadata only (detach, drop, attach, rename), each attempt under 0.3 s", 0)
            : new MethodCost(MergeMethod.InPlace, written, aged,
                "ACCESS EXCLUSIVE on the partitioned table while the months are copied (the largest merge: about " +
                $"{longestCopy.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} rows)", longestCopy);
    }

    private static StrategySimulation Run(
        PartitionLayout layout, IlmPolicy policy, DateOnly from, int months, IlmPlanOptions? options, long newRows)
    {
        var steps = new List<SimulatedMonth>();
        long cumulative = 0;
        var current = layout;
        for (var i = 0; i < months; i++)
        {
            var asOf = new DateOnly(from.Year, from.Month, 1).AddMonths(i);
            current = AddMonthsUpTo(current, asOf, policy, newRows);
            var plan = IlmPlanner.Plan(current, policy, asOf, options);
            current = PlanEffects.Apply(current, plan);
            cumulative += plan.RowsRewritten;
            var counts = Count(current, policy);
            steps.Add(new SimulatedMonth(
                asOf, counts.HotMonthly, counts.WarmYearly, counts.WarmMonthly, counts.ColdYearly, counts.ColdMonthly,
                plan.Actions.Count(a => a is MoveAction), plan.Actions.Count(a => a is MergeAction),
                plan.Actions.Count(a => a is RenameAction),
                plan.RowsRewritten, cumulative));
        }
        return new StrategySimulation(policy.Strategy, steps, current);
    }

    /// <summary>Adds monthly HOT partitions until the one holding <paramref name="asOf"/>'s month exists.</summary>
    private static PartitionLayout AddMonthsUpTo(PartitionLayout layout, DateOnly asOf, IlmPolicy policy, long rows)
    {
        var parts = layout.InBoundOrder().ToList();
        var maxValue = parts.FindIndex(p => p.IsMaxValue);
        var bounded = parts.Where(p => !p.IsMaxValue).ToList();
        if (bounded.Count == 0) return layout;
        var last = bounded[^1];
        var prefix = last.Name.Length > 0 && last.Name[0] == 'p' ? "p" : "P";
        var needUpTo = asOf.ToDateTime(TimeOnly.MinValue).AddMonths(1);
        var upper = last.UpperBound!.Value;
        var insertAt = maxValue >= 0 ? maxValue : parts.Count;
        while (upper < needUpTo)
        {
            var monthStart = new DateTime(upper.Year, upper.Month, 1);
            var next = monthStart.AddMonths(1);
            parts.Insert(insertAt++, new PartitionInfo
            {
                Name = PartitionName.MonthlyName(prefix, monthStart.Year, monthStart.Month),
                LowerBound = upper,
                UpperBound = next,
                Tablespace = policy.Hot.Tablespace,
                Compression = last.Compression is null ? null : policy.Hot.Compression,
                RowEstimate = rows,
            });
            upper = next;
        }
        if (maxValue >= 0) parts[insertAt] = parts[insertAt] with { LowerBound = upper };
        return layout with { Partitions = parts };
    }

    private static long TypicalMonthRows(PartitionLayout layout)
    {
        var monthly = layout.Partitions
            .Where(p => PartitionName.Parse(p.Name).Kind == PartitionNameKind.Monthly && p.RowEstimate is not null)
            .Select(p => p.RowEstimate!.Value).OrderBy(n => n).ToList();
        return monthly.Count == 0 ? 0 : monthly[monthly.Count / 2];
    }

    private static (int HotMonthly, int WarmYearly, int WarmMonthly, int ColdYearly, int ColdMonthly) Count(
        PartitionLayout layout, IlmPolicy policy)
    {
        int hm = 0, wy = 0, wm = 0, cy = 0, cm = 0;
        foreach (var p in layout.Partitions)
        {
            var kind = PartitionName.Parse(p.Name).Kind;
            switch (policy.TierOfTablespace(p.Tablespace), kind)
            {
                case (IlmTier.Hot, PartitionNameKind.Monthly): hm++; break;
                case (IlmTier.Warm, PartitionNameKind.Yearly): wy++; break;
                case (IlmTier.Warm, PartitionNameKind.Monthly): wm++; break;
                case (IlmTier.Cold, PartitionNameKind.Yearly): cy++; break;
                case (IlmTier.Cold, PartitionNameKind.Monthly): cm++; break;
            }
        }
        return (hm, wy, wm, cy, cm);
    }
}
