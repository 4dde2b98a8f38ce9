using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>Runs limited to chosen actions (IlmRunRequest.Only, ilm run --only-partition, Invoke-IlmPartitionMerge).</summary>
public sealed class IlmActionSelectionTests
{
    /// <summary>As of 2026-01-01: P_2019 is due for COLD (a move); P_2023_11 and P_2023_12 merge into P_2023; P_2024_06 is HOT.</summary>
    private static PartitionLayout Sales(bool interval = false) => Layouts.Of(
        Layouts.Yearly(2019, new(2020, 1, 1), lower: new(2019, 1, 1)),
        Layouts.Yearly(2023, new(2023, 11, 1), lower: new(2023, 1, 1)),
        Layouts.Monthly(2023, 11),
        Layouts.Monthly(2023, 12),
        Layouts.Monthly(2024, 6, withLower: true)) with { IsIntervalPartitioned = interval };

    private static readonly DateOnly AsOf = new(2026, 1, 1);

    private static IlmPlan Select(PartitionLayout layout, IlmPlanOptions? options = null, DateOnly? asOf = null, IlmPolicy? policy = null,
        params IlmActionKey[] keys) =>
        IlmActionSelector.Select(layout, policy ?? IlmPolicy.Default, asOf ?? AsOf, options ?? new IlmPlanOptions(), keys);

    private static IlmPlan Select(params IlmActionKey[] keys) => Select(Sales(), null, null, null, keys);

    private static InvalidRequestException Refused(Func<IlmPlan> select)
    {
        var e = Assert.Throws<InvalidRequestException>(() => select());
        Assert.Equal("Only", e.Parameter);
        Assert.Contains("nothing was changed", e.Message);
        return e;
    }

    [Fact]
    public void The_whole_plan_has_a_move_and_one_merge_of_two_months()
    {
        var plan = IlmPlanner.Plan(Sales(), IlmPolicy.Default, AsOf);
        Assert.Equal(["move P_2019 from TBS_WARM to TBS_COLD (COLD, BASIC)",
            "merge P_2023, P_2023_11, P_2023_12 into P_2023 in TBS_WARM (WARM, BASIC), up to 2024-01-01; if the merge fails, P_2023_11, " +
            "P_2023_12 are moved to TBS_WARM on their own"],
            plan.Work.Select(a => a.Describe()));
    }

    [Fact]
    public void A_chosen_month_merges_alone_and_nothing_else_runs()
    {
        var plan = Select(IlmActionKey.Partition("p_2023_11"));
        var merge = Assert.IsType<MergeAction>(Assert.Single(plan.Actions));
        Assert.Equal(["P_2023", "P_2023_11"], merge.Sources);
        Assert.Equal(("P_2023", new DateTime(2023, 12, 1)), (merge.TargetName, merge.UpperBound));
        Assert.Equal(100, merge.MonthsRowEstimate);
    }

    [Fact]
    public void A_chosen_move_runs_alone()
    {
        var move = Assert.IsType<MoveAction>(Assert.Single(Select(IlmActionKey.Partition("P_2019")).Actions));
        Assert.Equal(("P_2019", "TBS_COLD"), (move.PartitionName, move.ToTablespace));
        Assert.Single(Select(IlmActionKey.Move("P_2019")).Actions);
    }

    [Fact]
    public void Both_months_chosen_merge_in_one_action_as_in_the_whole_plan()
    {
        var whole = IlmPlanner.Plan(Sales(), IlmPolicy.Default, AsOf).Work.OfType<MergeAction>().Single();
        Assert.Equal(whole.Describe(),
            Assert.Single(Select(IlmActionKey.Merge("P_2023_11"), IlmActionKey.Merge("P_2023_12")).Actions).Describe());
        // A candidate's key (sources and target) selects exactly its action.
        Assert.Equal(whole.Describe(), Assert.Single(Select(IlmActionKey.Of(whole)).Actions).Describe());
        var all = IlmPlanner.Plan(Sales(), IlmPolicy.Default, AsOf).Work.Select(IlmActionKey.Of).ToArray();
        Assert.Equal(IlmPlanner.Plan(Sales(), IlmPolicy.Default, AsOf).Work.Select(a => a.Describe()),
            Select(all).Actions.Select(a => a.Describe()));
    }

    [Fact]
    public void A_later_month_without_the_earlier_one_is_refused_naming_what_it_needs()
    {
        var e = Refused(() => Select(IlmActionKey.Partition("P_2023_12")));
        Assert.Equal("P_2023_12", e.Value);
        Assert.Contains("needs merge P_2023_11 into P_2023 (adjacent months merge in bound order): choose it too", e.Message);
    }

    [Fact]
    public void Pairwise_merges_chain_the_same_way()
    {
        var interval = Sales(interval: true);
        var first = Assert.IsType<MergeAction>(
            Assert.Single(Select(interval, null, null, null, IlmActionKey.Partition("P_2023_11")).Actions));
        Assert.Equal(["P_2023", "P_2023_11"], first.Sources);
        Assert.Equal(2, Select(interval, null, null, null, IlmActionKey.Merge("P_2023_11"), IlmActionKey.Merge("P_2023_12")).Actions.Count);
        Assert.Contains("needs merge P_2023_11 into P_2023",
            Refused(() => Select(interval, null, null, null, IlmActionKey.Merge("P_2023_12"))).Message);
    }

    [Fact]
    public void Choices_not_in_the_plan_are_refused_with_the_reason()
    {
        Assert.Contains("P_2024_06 is still HOT as of 2026-01-01", Refused(() => Select(IlmActionKey.Partition("P_2024_06"))).Message);
        Assert.Contains("SALES_PART has no partition P_1999_01", Refused(() => Select(IlmActionKey.Merge("P_1999_01"))).Message);
        Assert.Contains("P_2023 is the partition others merge into: choose the months that merge into it (P_2023_11, P_2023_12)",
            Refused(() => Select(IlmActionKey.Partition("P_2023"))).Message);
        // A stale candidate: the plan merges P_2023_11, it does not move it.
        Assert.Contains("has merge P_2023, P_2023_11, P_2023_12 into P_2023",
            Refused(() => Select(IlmActionKey.Move("P_2023_11"))).Message);
        Assert.Contains("rename P_2024_06 to P_2024: P_2024_06 is still HOT",
            Refused(() => Select(IlmActionKey.Rename("P_2024_06", "P_2024"))).Message);
        Assert.Contains("names no partition", Assert.Throws<InvalidRequestException>(() => Select()).Message);
    }

    [Fact]
    public void Every_problem_is_named_at_once()
    {
        var e = Refused(() => Select(IlmActionKey.Partition("P_2024_06"), IlmActionKey.Partition("P_1999_01"),
            IlmActionKey.Partition("P_2019")));
        Assert.Equal("P_2024_06, P_1999_01", e.Value);
    }

    [Fact]
    public void A_choice_is_explicit_auto_merge_and_retry_settings_do_not_hold_it_back()
    {
        var options = new IlmPlanOptions { MergesEnabled = false,
            DoNotMerge = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "P_2023_11" } };
        Assert.IsType<MergeAction>(Assert.Single(Select(Sales(), options, null, null, IlmActionKey.Merge("P_2023_11")).Actions));
    }

    [Fact]
    public void Max_merges_counts_the_chosen_merges_only()
    {
        // The budget is not spent on merges that were not chosen...
        Assert.Single(Select(Sales(), new IlmPlanOptions { MaxMerges = 1 }, null, null, IlmActionKey.Merge("P_2023_11")).Actions);
        // ...and choosing more than it allows is refused.
        var e = Refused(() => Select(Sales(), new IlmPlanOptions { MaxMerges = 1 }, null, null, IlmActionKey.Merge("P_2023_11"),
            IlmActionKey.Merge("P_2023_12")));
        Assert.Contains("MAX_MERGES_PER_RUN (1, or the run's own limit)", e.Message);
        Assert.DoesNotContain("--", e.Message);
    }

    /// <summary>As of 2026-02-01: December completes P_2023, then January 2024 starts P_2024 (moved to WARM, renamed).</summary>
    private static PartitionLayout YearEnd() => Layouts.Of(
        Layouts.Yearly(2023, new(2023, 12, 1), lower: new(2023, 1, 1)),
        Layouts.Monthly(2023, 12),
        Layouts.Monthly(2024, 1),
        Layouts.Monthly(2024, 6, withLower: true));

    [Fact]
    public void A_january_rename_needs_the_merge_that_completes_the_year_before_it()
    {
        var asOf = new DateOnly(2026, 2, 1);
        Assert.Equal([IlmActionKind.Merge, IlmActionKind.Move, IlmActionKind.Rename],
            IlmPlanner.Plan(YearEnd(), IlmPolicy.Default, asOf).Work.Select(a => a.Kind));

        var e = Refused(() => Select(YearEnd(), null, asOf, null, IlmActionKey.Partition("P_2024_01")));
        Assert.Contains("needs merge P_2023_12 into P_2023 (P_2024_01 starts P_2024 only after P_2023 is complete): choose it too",
            e.Message);
        // The rename alone, as a candidate: the same.
        Refused(() => Select(YearEnd(), null, asOf, null, IlmActionKey.Rename("P_2024_01", "P_2024")));

        // December alone merges; January is left for a later run (its rename does not have to follow).
        Assert.IsType<MergeAction>(Assert.Single(Select(YearEnd(), null, asOf, null, IlmActionKey.Partition("P_2023_12")).Actions));
        // Both: the merge, then January moved and renamed (--only-partition P_2024_01 means both of its actions).
        Assert.Equal([IlmActionKind.Merge, IlmActionKind.Move, IlmActionKind.Rename],
            Select(YearEnd(), null, asOf, null, IlmActionKey.Partition("P_2023_12"), IlmActionKey.Partition("P_2024_01"))
                .Actions.Select(a => a.Kind));
        // The manual merge of January is its move and rename.
        Assert.Equal([IlmActionKind.Merge, IlmActionKind.Move, IlmActionKind.Rename],
            Select(YearEnd(), null, asOf, null, IlmActionKey.Merge("P_2023_12"), IlmActionKey.Merge("P_2024_01"))
                .Actions.Select(a => a.Kind));
        // A chosen rename without its move: only the rename.
        Assert.Equal([IlmActionKind.Merge, IlmActionKind.Rename],
            Select(YearEnd(), null, asOf, null, IlmActionKey.Merge("P_2023_12"), IlmActionKey.Rename("P_2024_01", "P_2024"))
                .Actions.Select(a => a.Kind));
    }

    /// <summary>As of 2025-03-01: P_2022 is complete; January and February 2023 merge into a new P_2023 (one action).</summary>
    private static PartitionLayout NewYear() => Layouts.Of(
        Layouts.Yearly(2022, new(2023, 1, 1), lower: new(2022, 1, 1)),
        Layouts.Monthly(2023, 1),
        Layouts.Monthly(2023, 2));

    [Fact]
    public void The_month_that_starts_a_yearly_partition_comes_first()
    {
        var asOf = new DateOnly(2025, 3, 1);
        var merge = Assert.IsType<MergeAction>(Assert.Single(IlmPlanner.Plan(NewYear(), IlmPolicy.Default, asOf).Work));
        Assert.Equal(["P_2023_01", "P_2023_02"], merge.Sources);
        Assert.Equal("P_2023", merge.TargetName);

        Assert.Contains("needs merge P_2023_01 into P_2023",
            Refused(() => Select(NewYear(), null, asOf, null, IlmActionKey.Partition("P_2023_02"))).Message);
        // January alone starts P_2023: moved to WARM and renamed (metadata only), February merges into it later.
        var alone = Select(NewYear(), null, asOf, null, IlmActionKey.Partition("P_2023_01")).Actions;
        Assert.Equal([IlmActionKind.Move, IlmActionKind.Rename], alone.Select(a => a.Kind));
        Assert.Equal("P_2023", Assert.IsType<RenameAction>(alone[1]).NewName);
    }

    [Fact]
    public void Year_complete_merges_the_years_months_together()
    {
        var policy = IlmPolicy.Default with { Strategy = MergeStrategy.YearComplete };
        var e = Refused(() => Select(Sales(), null, null, policy, IlmActionKey.Partition("P_2023_11")));
        Assert.Contains("needs merge P_2023_12 into P_2023 (strategy year_complete merges the year's months together)", e.Message);
        Assert.Single(Select(Sales(), null, null, policy, IlmActionKey.Partition("P_2023_11"), IlmActionKey.Partition("P_2023_12"))
            .Actions);
    }

    [Fact]
    public void The_selected_plan_lists_only_the_chosen_work()
    {
        var plan = Select(IlmActionKey.Partition("P_2023_11"));
        Assert.DoesNotContain(plan.Actions, a => a is SkipAction);
        var filter = new IlmActionFilter([IlmActionKey.Merge("P_2023_11")]);
        Assert.All(plan.Actions, a => Assert.True(filter.Allows(a)));
    }
}
