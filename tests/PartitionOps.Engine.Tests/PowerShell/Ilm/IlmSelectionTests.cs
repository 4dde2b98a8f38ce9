using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.PowerShell.Cmdlets;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.Engine.Tests.PowerShell.Ilm;

/// <summary>
/// Invoke-IlmPartitionMerge runs only what it was given, as far as the engine allows: plans made offline from a
/// layout (IlmService.PlanOffline, the same planner RunAsync uses) stand for the plans it reads from the database.
/// </summary>
public class IlmSelectionTests
{
    private static PartitionInfo Part(string name, string lower, string upper, string tablespace, long rows = 100) => new()
    {
        Name = name, LowerBound = DateTime.Parse(lower), UpperBound = DateTime.Parse(upper), Tablespace = tablespace, RowEstimate = rows,
    };

    /// <summary>p_2019 is due for COLD (a move); p_2023_11 and p_2023_12 are due for WARM and merge into p_2023.</summary>
    private static readonly PartitionLayout Sales = new()
    {
        Schema = "public",
        Table = "sales",
        PartitionKey = "sale_date",
        Columns = ["id", "sale_date", "amount"],
        Partitions =
        [
            Part("p_2019", "2019-01-01", "2020-01-01", "TBS_WARM"),
            Part("p_2023", "2023-01-01", "2023-11-01", "TBS_WARM"),
            Part("p_2023_11", "2023-11-01", "2023-12-01", "TBS_HOT"),
            Part("p_2023_12", "2023-12-01", "2024-01-01", "TBS_HOT"),
            Part("p_2024_06", "2024-06-01", "2024-07-01", "TBS_HOT"),
        ],
    };

    private static readonly DateOnly AsOf = new(2026, 1, 1);

    private static IlmPlanResult Plan(PartitionLayout layout, int? maxMerges = null, DateOnly? asOf = null) =>
        IlmService.PlanOffline(layout, IlmPolicy.Default, asOf ?? AsOf, PostgreSqlProvider.Instance,
            IlmConfig.Default.With(new IlmConfigOverrides { MaxMerges = maxMerges }));

    private static IReadOnlyList<IlmSelectedAction> Piped(IEnumerable<IlmMergeCandidate> candidates) =>
        candidates.Select(c => InvokeIlmPartitionMergeCommand.Selection(null, c.Action, c.SourcePartition, c.TargetPartition)).OfType<IlmSelectedAction>().ToList();

    [Fact]
    public void The_layout_plans_a_move_and_one_merge_of_two_months()
    {
        var plan = Plan(Sales);
        Assert.Collection(plan.Steps.Select(s => s.Action),
            a => Assert.Equal("move p_2019 from TBS_WARM to TBS_COLD (COLD, BASIC)", a.Describe()),
            a => Assert.Equal(["p_2023", "p_2023_11", "p_2023_12"], Assert.IsType<MergeAction>(a).Sources));
        Assert.Equal(["p_2023_11", "p_2023_12"], IlmSelection.MergedSources(plan));
    }

    [Fact]
    public void Every_candidate_piped_back_runs_the_whole_plan_and_nothing_else()
    {
        var full = Plan(Sales);
        var selection = Piped(IlmMergeCandidate.From(full, IlmPolicy.Default, null, null, null, includeSkipped: true));
        var (cap, problems) = IlmSelection.Resolve(full, selection);
        Assert.Empty(problems);
        Assert.Equal(2, cap);
        var capped = Plan(Sales, cap);
        Assert.Null(IlmSelection.Verify(full, capped, cap));
        Assert.Empty(IlmSelection.Additional(capped, selection));
        Assert.All(capped.Steps, s => Assert.True(IlmSelection.IsRequested(s.Action, selection)));
    }

    [Fact]
    public void A_named_month_caps_the_run_at_that_month_and_reports_what_else_would_run()
    {
        var full = Plan(Sales);
        IlmSelectedAction[] selection = [IlmSelectedAction.MergeOf("p_2023_11")];
        var (cap, problems) = IlmSelection.Resolve(full, selection);
        Assert.Empty(problems);
        Assert.Equal(1, cap);
        var capped = Plan(Sales, cap);
        Assert.Null(IlmSelection.Verify(full, capped, cap));
        var merge = Assert.Single(capped.Plan.Actions.OfType<MergeAction>());
        Assert.Equal(["p_2023", "p_2023_11"], merge.Sources);
        // The engine cannot leave out the table's other actions: the move of p_2019, and December placed alone.
        var additional = IlmSelection.Additional(capped, selection);
        Assert.Equal(["move p_2019 from TBS_WARM to TBS_COLD (COLD, BASIC)", "move p_2023_12 from TBS_HOT to TBS_WARM (WARM, BASIC)"], additional);
        Assert.True(IlmSelection.IsRequested(merge, selection));
        Assert.False(IlmSelection.IsRequested(capped.Steps[0].Action, selection));
    }

    [Fact]
    public void A_later_month_brings_the_earlier_one_of_the_same_merge_and_says_so()
    {
        var full = Plan(Sales);
        IlmSelectedAction[] selection = [IlmSelectedAction.MergeOf("P_2023_12")];
        var (cap, _) = IlmSelection.Resolve(full, selection);
        Assert.Equal(2, cap);
        var additional = IlmSelection.Additional(Plan(Sales, cap), selection);
        Assert.Contains(additional, a => a.StartsWith("merge p_2023_11 into p_2023", StringComparison.Ordinal));
    }

    [Fact]
    public void Only_the_merge_candidate_piped_is_selected_when_the_move_is_filtered_out()
    {
        var full = Plan(Sales);
        var merges = IlmMergeCandidate.From(full, IlmPolicy.Default, null, null, null, false).Where(c => c.Action == "Merge");
        var selection = Piped(merges);
        var (cap, problems) = IlmSelection.Resolve(full, selection);
        Assert.Equal((2, 0), (cap, problems.Count));
        Assert.Equal(["move p_2019 from TBS_WARM to TBS_COLD (COLD, BASIC)"], IlmSelection.Additional(Plan(Sales, cap), selection));
    }

    [Fact]
    public void A_partition_that_is_not_due_or_does_not_exist_is_a_problem_with_the_reason()
    {
        var full = Plan(Sales);
        var (_, problems) = IlmSelection.Resolve(full, [IlmSelectedAction.MergeOf("p_2024_06"), IlmSelectedAction.MergeOf("p_1999_01"), IlmSelectedAction.MergeOf("p_2023")]);
        Assert.Collection(problems,
            p => Assert.StartsWith("p_2024_06: not due to merge as of 2026-01-01", p),
            p => Assert.Equal("p_1999_01: public.sales has no such partition", p),
            p => Assert.StartsWith("p_2023: is the partition others merge into", p));
    }

    [Fact]
    public void A_stale_candidate_is_a_problem()
    {
        var full = Plan(Sales);
        var (_, problems) = IlmSelection.Resolve(full, [new IlmSelectedAction("Move", ["p_2023_11"], null), new IlmSelectedAction("Rename", ["p_2024_01"], "p_2024")]);
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Contains("no longer in the plan of public.sales", p));
    }

    [Fact]
    public void A_selection_the_engine_cannot_stop_at_is_refused_before_anything_runs()
    {
        // January after the complete p_2022 starts p_2023; with February it is one merge. Capped at January
        // alone, the planner renames it instead: not what was asked.
        var layout = new PartitionLayout
        {
            Schema = "public",
            Table = "sales",
            PartitionKey = "sale_date",
            Columns = ["id", "sale_date", "amount"],
            Partitions =
            [
                Part("p_2022", "2022-01-01", "2023-01-01", "TBS_WARM"),
                Part("p_2023_01", "2023-01-01", "2023-02-01", "TBS_HOT"),
                Part("p_2023_02", "2023-02-01", "2023-03-01", "TBS_HOT"),
            ],
        };
        var asOf = new DateOnly(2025, 3, 1);
        var full = Plan(layout, asOf: asOf);
        Assert.Equal(["p_2023_01", "p_2023_02"], IlmSelection.MergedSources(full));
        var (cap, problems) = IlmSelection.Resolve(full, [IlmSelectedAction.MergeOf("p_2023_01")]);
        Assert.Equal((1, 0), (cap, problems.Count));
        var why = IlmSelection.Verify(full, Plan(layout, cap, asOf), cap);
        Assert.NotNull(why);
        Assert.Contains("cannot stop after 1 merged partition(s)", why);
    }

    [Fact]
    public void Skip_candidates_select_nothing()
    {
        Assert.Null(InvokeIlmPartitionMergeCommand.Selection(null, "Skip", ["p_2024_06"], null));
        Assert.Equal(IlmSelectedAction.MergeOf("p_2023_11").SourcePartitions,
            InvokeIlmPartitionMergeCommand.Selection(" p_2023_11 ", "Move", ["x"], null)!.SourcePartitions);
    }

    [Fact]
    public void Candidates_carry_the_plan_the_sql_and_the_tier()
    {
        var full = Plan(Sales);
        var candidates = IlmMergeCandidate.From(full, IlmPolicy.Default, null, "ilm", "/policies/p.json", includeSkipped: true).ToList();
        var merge = candidates.Single(c => c.Action == "Merge");
        Assert.Equal(("public", "sales", "ilm", "/policies/p.json", new DateTime(2026, 1, 1)), (merge.Schema, merge.Table, merge.ControlSchema, merge.Policy, merge.AsOf));
        Assert.Equal(["p_2023", "p_2023_11", "p_2023_12"], merge.SourcePartition);
        Assert.Equal(("p_2023", "WARM", "TBS_WARM"), (merge.TargetPartition, merge.Tier, merge.Tablespace));
        Assert.Equal(full.Steps.Single(s => s.Action is MergeAction).Statements, merge.Statements);
        Assert.Contains("p_2023_11", merge.Sql);
        Assert.StartsWith("merge p_2023, p_2023_11, p_2023_12 into p_2023", merge.Reason);
        var move = candidates.Single(c => c.Action == "Move");
        Assert.Equal(["p_2019"], move.SourcePartition);
        Assert.Equal(((string?)null, "COLD", "TBS_COLD"), (move.TargetPartition, move.Tier, move.Tablespace));
        Assert.NotEmpty(move.Sql);
        var skips = candidates.Where(c => c.Action == "Skip").ToList();
        Assert.All(skips, s => Assert.Equal("", s.Sql));
        Assert.Equal(2, IlmMergeCandidate.From(full, IlmPolicy.Default, null, null, null, includeSkipped: false).Count());
    }

    [Fact]
    public void Run_results_mark_what_was_requested_and_what_was_not_started()
    {
        var planned = Plan(Sales, 1);
        var move = planned.Steps[0].Action;
        var merge = planned.Steps[1].Action;
        var run = new IlmRunResult(planned,
            [new ActionOutcome(move, IlmStatus.Success, null, null, TimeSpan.FromSeconds(1.5), 100, 100, planned.Steps[0].Statements)],
            [], DryRun: false) { NotStarted = [merge] };
        IlmSelectedAction[] selection = [IlmSelectedAction.MergeOf("p_2023_11")];
        var results = IlmActionResult.From(run, IlmPolicy.Default, a => IlmSelection.IsRequested(a, selection)).ToList();
        Assert.Collection(results,
            r => Assert.Equal(("Move", "SUCCESS", false, 1.5, "COLD"), (r.Action, r.Status, r.Requested, r.DurationSeconds, r.Tier)),
            r => Assert.Equal(("Merge", IlmActionResult.NotStarted, true, "p_2023"), (r.Action, r.Status, r.Requested, r.TargetPartition)));
    }
}
