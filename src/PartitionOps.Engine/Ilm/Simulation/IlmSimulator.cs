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
        IReadOnlyList<MergeStrategy>? strategies = null, IlmPlanOptions? options = null, long? rowsPerNewMonth = null)
    {
        if (to < from) throw new InvalidRequestException(nameof(IlmSimulateRequest.To), to.ToString("yyyy-MM-dd"), $"is before the first date {from:yyyy-MM-dd}");
        var months = (to.Year - from.Year) * 12 + to.Month - from.Month + 1;
        if (months > 1200) throw new InvalidRequestException(nameof(IlmSimulateRequest.To), to.ToString("yyyy-MM-dd"), "is more than 100 years after the first date");
        strategies ??= [MergeStrategy.Incremental, MergeStrategy.YearComplete];
        var newRows = rowsPerNewMonth ?? TypicalMonthRows(layout);
        var results = strategies.Select(s => Run(layout, policy with { Strategy = s }, from, months, options, newRows)).ToList();
        return new IlmSimulationResult(from, to, results);
    }

    private static StrategySimulation Run(PartitionLayout layout, IlmPolicy policy, DateOnly from, int months, IlmPlanOptions? options, long newRows)
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
            steps.Add(new SimulatedMonth(asOf, counts.HotMonthly, counts.WarmYearly, counts.WarmMonthly, counts.ColdYearly, counts.ColdMonthly,
                plan.Actions.Count(a => a is MoveAction), plan.Actions.Count(a => a is MergeAction), plan.Actions.Count(a => a is RenameAction),
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

    private static (int HotMonthly, int WarmYearly, int WarmMonthly, int ColdYearly, int ColdMonthly) Count(PartitionLayout layout, IlmPolicy policy)
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
