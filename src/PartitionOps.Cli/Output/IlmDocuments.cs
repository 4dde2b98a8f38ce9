using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Simulation;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Cli.Output;

/// <summary>
/// The --json documents of the ilm commands (camelCase through <see cref="JsonOutput"/>, like backfill).
/// Statements are plain SQL text; <c>detail</c> is the engine's action record, whose <c>action</c>
/// discriminator is move | merge | rename | skip.
/// </summary>
internal static class IlmDocuments
{
    public sealed record StepDocument(
        string Action, string Partition, string Description, long RowsRewritten, IReadOnlyList<string> Statements, IlmAction Detail);

    public sealed record SkipDocument(string Partition, string Reason, string? WouldMergeInto);

    public sealed record PlanDocument(
        string Schema, string Table, string Provider, DateOnly AsOf, string Strategy, int Actions, int MergedPartitions, long RowsRewritten,
        IlmConfig Config, IReadOnlyList<string> SessionSetup, IReadOnlyList<StepDocument> Steps, IReadOnlyList<SkipDocument> Skipped);

    /// <summary>
    /// One action of a run. Merges: rowsMerged = rows of the months merged in (counted), rowsBefore = rows of every
    /// source including the partition that grows, rowsAfter = rows of the grown partition. Moves: rowsMovedEstimate =
    /// the moved partition's rows as the catalog estimates them (not counted).
    /// </summary>
    public sealed record OutcomeDocument(
        string Action, string Partition, string Description, string Status, string? Error, string? ErrorKind, double DurationSeconds,
        long? RowsBefore, long? RowsAfter, long? RowsMerged, long? RowsMovedEstimate, long RowsRewritten, IReadOnlyList<string> Statements,
        IlmAction Detail)
    {
        /// <summary>Rows the action wrote, counted (the copies' row counts); null when not counted.</summary>
        public long? RowsWritten { get; init; }
    }

    public sealed record ReconcileDocument(
        string TargetPartition, string Outcome, string? RenameFrom, string Message, IReadOnlyList<string> Sources);

    /// <summary>
    /// A run. only: the chosen actions (--only-partition) when the run was limited to them, else null.
    /// rowsMerged: rows of the months the successful merges merged in (exact, as the audit's rows_merged);
    /// rowsInMergedPartitions: rows of the partitions those merges grew, counted after each merge (the number this
    /// document carried alone before rowsMerged existed).
    /// </summary>
    public sealed record RunDocument(
        string Schema, string Table, string Provider, DateOnly AsOf, bool DryRun, IReadOnlyList<string>? Only, int Succeeded, int Failed,
        long RowsMerged, long RowsInMergedPartitions, long RowsRewritten,
        bool StoppedEarly, IReadOnlyList<OutcomeDocument> Outcomes, IReadOnlyList<string> NotStarted,
        IReadOnlyList<ReconcileDocument> Reconciled, IReadOnlyList<SkipDocument> Skipped, PlanDocument Plan)
    {
        /// <summary>Rows the successful actions wrote, counted; null when any of them was not counted (unknown, not an estimate).</summary>
        public long? RowsWritten { get; init; }

        /// <summary>Tables or constraints failed runs had left, dropped before planning.</summary>
        public IReadOnlyList<string> LeftoversDropped { get; init; } = [];
    }

    public static PlanDocument Plan(IlmPlanResult result)
    {
        var plan = result.Plan;
        return new PlanDocument(
            plan.Schema, plan.Table, result.Provider, plan.AsOf, Name(plan.Strategy.ToString()), result.Steps.Count,
            plan.MergedPartitionCount, plan.RowsRewritten,
            result.Config, result.SessionSetup.Select(Sql).ToList(),
            result.Steps.Select(s => new StepDocument(Kind(s.Action), s.Action.Partition, s.Action.Describe(), s.Action.RowsRewritten,
                s.Statements.Select(Sql).ToList(), s.Action)).ToList(),
            Skips(plan));
    }

    public static RunDocument Run(IlmRunResult result)
    {
        var plan = result.Plan.Plan;
        return new RunDocument(
            plan.Schema, plan.Table, result.Plan.Provider, plan.AsOf, result.DryRun, result.Only?.Select(k => k.Describe()).ToList(),
            result.Succeeded, result.Failed, result.RowsMerged, RowsInMergedPartitions(result),
            RowsRewritten(result),
            result.StoppedEarly,
            result.Outcomes.Select(o => new OutcomeDocument(Kind(o.Action), o.Action.Partition, o.Action.Describe(), o.Status, o.Error,
                o.ErrorKind?.ToString(), Math.Round(o.Duration.TotalSeconds, 3), o.RowsBefore, o.RowsAfter, o.RowsMerged,
                o.RowsMovedEstimate, o.Action.RowsRewritten,
                o.Statements.Select(Sql).ToList(), o.Action) { RowsWritten = o.RowsWritten }).ToList(),
            result.NotStarted.Select(a => a.Describe()).ToList(),
            result.Reconciled.Select(d => new ReconcileDocument(d.TargetPartition, d.Outcome.ToString(), d.RenameFrom, d.Message,
                d.Rows.Select(r => r.SourcePartition).ToList())).ToList(),
            Skips(plan),
            Plan(result.Plan))
        {
            RowsWritten = result.RowsWritten,
            LeftoversDropped = result.LeftoversDropped,
        };
    }

    /// <summary>Rows of the partitions the successful merges grew, counted after each merge.</summary>
    public static long RowsInMergedPartitions(IlmRunResult result) =>
        result.Outcomes.Where(o => o.Action is MergeAction && o.Status == IlmStatus.Success).Sum(o => o.RowsAfter ?? 0);

    /// <summary>Rows the successful actions wrote as counted by the run (the copies' row counts), or "unknown" where not counted.</summary>
    public static string RowsWrittenText(IlmRunResult result) => result.RowsWritten is { } n
        ? $"{n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} rows written (counted)"
        : "rows written unknown (not counted: a move by SET TABLESPACE)";

    /// <summary>Rows the successful actions rewrote (catalog estimates, as the planner counts them).</summary>
    public static long RowsRewritten(IlmRunResult result) =>
        result.Outcomes.Where(o => o.Status == IlmStatus.Success).Sum(o => o.Action.RowsRewritten);

    public sealed record TierCounts(int HotMonthly, int WarmYearly, int WarmMonthly, int ColdYearly, int ColdMonthly);

    /// <summary>
    /// <see cref="Methods"/>: the walk costed per merge method (PostgreSQL: rebuild, in_place); empty where the engine has one way.
    /// </summary>
    public sealed record StrategyDocument(
        string Strategy, long RowsRewritten, long MergeOperations, int Moves, int Renames, TierCounts Final,
        IReadOnlyList<SimulatedMonth> Months)
    {
        public IReadOnlyList<MethodDocument> Methods { get; init; } = [];
    }

    public sealed record MethodDocument(string Method, long RowsRewritten, long AgedRows, double? RowsWrittenPerAgedRow,
        string LongestExclusiveLock, long RowsCopiedUnderThatLock);

    /// <summary>rebuild, in_place (the policy file's spelling).</summary>
    public static string MethodName(MergeMethod method) => method == MergeMethod.InPlace ? "in_place" : "rebuild";

    /// <summary>
    /// <see cref="Provider"/>: whose merge costs were used; <see cref="CostsFrom"/>: where that came from
    /// (--provider, the layout file, the connection).
    /// </summary>
    public sealed record SimulationDocument(
        string Schema, string Table, string Provider, DateOnly From, DateOnly To, int Months, IReadOnlyList<StrategyDocument> Strategies)
    {
        public string? CostsFrom { get; init; }
    }

    public static SimulationDocument Simulation(PartitionLayout layout, IlmSimulationResult result, string provider) =>
        new(layout.Schema, layout.Table, provider, result.From, result.To, result.Strategies.FirstOrDefault()?.Months.Count ?? 0,
            result.Strategies.Select(s => new StrategyDocument(Name(s.Strategy.ToString()), s.RowsRewritten, s.MergeOperations,
                s.Months.Sum(m => m.Moves), s.Months.Sum(m => m.Renames), Final(s), s.Months)
            {
                Methods = s.Methods.Select(m => new MethodDocument(MethodName(m.Method), m.RowsRewritten, m.AgedRows,
                    m.RowsWrittenPerAgedRow, m.LongestExclusiveLock, m.LongestLockRows)).ToList(),
            }).ToList());

    public static TierCounts Final(StrategySimulation s) => s.Months.Count == 0
        ? new TierCounts(0, 0, 0, 0, 0)
        : new TierCounts(
            s.Months[^1].HotMonthly, s.Months[^1].WarmYearly, s.Months[^1].WarmMonthly, s.Months[^1].ColdYearly, s.Months[^1].ColdMonthly);

    private static List<SkipDocument> Skips(IlmPlan plan) =>
        plan.Actions.OfType<SkipAction>().Select(s => new SkipDocument(s.PartitionName, s.Reason, s.WouldMergeInto)).ToList();

    public static string Kind(IlmAction action) => action.Kind.ToString().ToLowerInvariant();

    /// <summary>incremental, year_complete (the policy file's spelling).</summary>
    public static string Name(string strategy) => strategy == "YearComplete" ? "year_complete" : strategy.ToLowerInvariant();

    /// <summary>The statement as it runs; bound values (the ILM DDL has none) are shown after it as a comment.</summary>
    public static string Sql(SqlStatement s)
    {
        var text = s.Text.TrimEnd().TrimEnd(';');
        return Engine.Providers.PlanComment.Parameters(s) is { } parameters ? parameters + Environment.NewLine + text : text;
    }
}
