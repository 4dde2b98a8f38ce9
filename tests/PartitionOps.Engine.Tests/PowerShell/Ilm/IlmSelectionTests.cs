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
/// Invoke-IlmPartitionMerge runs only what it was given: its candidates and -Partition become the engine's keys
/// (IlmRunRequest.Only), which the engine's selector turns into the plan of only those actions. Plans made offline
/// from a layout (the same planner and selector RunAsync uses) stand for the plans it reads from the database.
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

    private static IlmPlanResult Plan(PartitionLayout layout) =>
        IlmService.PlanOffline(layout, IlmPolicy.Default, AsOf, PostgreSqlProvider.Instance);

    private static IReadOnlyList<IlmSelectedAction> Piped(IEnumerable<IlmMergeCandidate> candidates) =>
        candidates.Select(c => InvokeIlmPartitionMergeCommand.Selection(null, c.Action, c.SourcePartition, c.TargetPartition))
            .OfType<IlmSelectedAction>().ToList();

    private static IlmPlan Run(IReadOnlyList<IlmSelectedAction> selection) =>
        IlmActionSelector.Select(Sales, IlmPolicy.Default, AsOf, new IlmPlanOptions(), IlmSelection.Keys(selection));

    [Fact]
    public void Every_candidate_piped_back_runs_the_whole_plan()
    {
        var full = Plan(Sales);
        var selection = Piped(IlmMergeCandidate.From(full, IlmPolicy.Default, null, null, null, includeSkipped: true));
        Assert.Equal(full.Steps.Select(s => s.Action.Describe()), Run(selection).Actions.Select(a => a.Describe()));
    }

    [Fact]
    public void Only_the_merge_candidate_piped_runs_when_the_move_is_filtered_out()
    {
        var merges = IlmMergeCandidate.From(Plan(Sales), IlmPolicy.Default, null, null, null, false).Where(c => c.Action == "Merge");
        var merge = Assert.IsType<MergeAction>(Assert.Single(Run(Piped(merges)).Actions));
        Assert.Equal(["p_2023", "p_2023_11", "p_2023_12"], merge.Sources);
    }

    [Fact]
    public void A_named_month_merges_alone_with_no_move_of_anything_else()
    {
        var merge = Assert.IsType<MergeAction>(Assert.Single(Run([IlmSelectedAction.MergeOf("p_2023_11")]).Actions));
        Assert.Equal(["p_2023", "p_2023_11"], merge.Sources);
    }

    [Fact]
    public void A_later_month_alone_is_refused_naming_partition_and_what_it_needs()
    {
        var e = Assert.Throws<InvalidRequestException>(() => Run([IlmSelectedAction.MergeOf("P_2023_12")]));
        var named = IlmSelection.Translate(e, explicitMerge: true);
        Assert.Equal(("-Partition", "P_2023_12"), (named.Parameter, named.Value));
        Assert.StartsWith("-Partition 'P_2023_12' cannot run on public.sales as of 2026-01-01, nothing was changed", named.Message);
        Assert.Contains("needs merge p_2023_11 into p_2023", named.Message);
        Assert.Equal("-SourcePartition", IlmSelection.Translate(e, explicitMerge: false).Parameter);
        // Other errors keep their parameter.
        var other = new InvalidRequestException("-AsOf", "x", "is not a date");
        Assert.Same(other, IlmSelection.Translate(other, explicitMerge: true));
    }

    [Fact]
    public void A_partition_that_is_not_due_or_does_not_exist_is_refused_with_the_reason()
    {
        var e = Assert.Throws<InvalidRequestException>(() =>
            Run([IlmSelectedAction.MergeOf("p_2024_06"), IlmSelectedAction.MergeOf("p_1999_01"), IlmSelectedAction.MergeOf("p_2023")]));
        Assert.Contains("p_2024_06 is still HOT", e.Message);
        Assert.Contains("sales has no partition p_1999_01", e.Message);
        Assert.Contains("p_2023 is the partition others merge into", e.Message);
    }

    [Fact]
    public void A_stale_candidate_is_refused()
    {
        var e = Assert.Throws<InvalidRequestException>(() => Run([new IlmSelectedAction("Move", ["p_2023_11"], null)]));
        Assert.Contains("not move p_2023_11", e.Message);
    }

    [Fact]
    public void Candidates_become_keys_of_their_kind()
    {
        Assert.Equal(IlmActionKind.Move, new IlmSelectedAction("move", ["p_2019"], null).ToKey().Kind);
        var rename = new IlmSelectedAction("Rename", ["p_2024_01"], "p_2024").ToKey();
        Assert.Equal((IlmActionKind.Rename, "p_2024"), (rename.Kind!.Value, rename.Target));
        var merge = new IlmSelectedAction("Merge", ["p_2023", "p_2023_11"], "p_2023").ToKey();
        Assert.Equal(["p_2023_11"], merge.MergedPartitions);
        Assert.Equal(["p_2023_11"], IlmSelectedAction.MergeOf("p_2023_11").ToKey().MergedPartitions);
        Assert.Empty(IlmSelection.Keys([new IlmSelectedAction("Skip", ["p_2024_06"], null)]));
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
        Assert.Equal(("public", "sales", "ilm", "/policies/p.json", new DateTime(2026, 1, 1)),
            (merge.Schema, merge.Table, merge.ControlSchema, merge.Policy, merge.AsOf));
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
    public void Run_results_carry_rows_and_what_was_not_started()
    {
        var planned = Plan(Sales);
        var move = (MoveAction)planned.Steps[0].Action;
        var merge = planned.Steps[1].Action;
        var run = new IlmRunResult(planned,
            [new ActionOutcome(move, IlmStatus.Success, null, null, TimeSpan.FromSeconds(1.5), null, null,
                planned.Steps[0].Statements) { RowsMovedEstimate = move.RowEstimate }],
            [], DryRun: false) { NotStarted = [merge] };
        var results = IlmActionResult.From(run, IlmPolicy.Default).ToList();
        Assert.Collection(results,
            r => Assert.Equal(("Move", "SUCCESS", 1.5, "COLD", (long?)100),
                (r.Action, r.Status, r.DurationSeconds, r.Tier, r.RowsMovedEstimate)),
            r => Assert.Equal(("Merge", IlmActionResult.NotStarted, "p_2023", (long?)null),
                (r.Action, r.Status, r.TargetPartition, r.RowsMerged)));
    }
}
