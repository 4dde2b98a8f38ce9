using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>Layout builders shared by the ILM unit tests.</summary>
internal static class Layouts
{
    public static PartitionInfo Yearly(int year, DateTime upper, string tablespace = "TBS_WARM", string? compression = "BASIC",
        long rows = 1000, DateTime? lower = null) =>
        new() { Name = $"P_{year}", LowerBound = lower, UpperBound = upper, Tablespace = tablespace, Compression = compression,
            RowEstimate = rows };

    public static PartitionInfo Monthly(int year, int month, string tablespace = "TBS_HOT", string? compression = "NONE", long rows = 100,
        bool withLower = false) =>
        new()
        {
            Name = $"P_{year}_{month:D2}",
            LowerBound = withLower ? new DateTime(year, month, 1) : null,
            UpperBound = new DateTime(year, month, 1).AddMonths(1),
            Tablespace = tablespace,
            Compression = compression,
            RowEstimate = rows,
        };

    public static IEnumerable<PartitionInfo> Months(int year, int from, int to, string tablespace = "TBS_HOT", long rows = 100) =>
        Enumerable.Range(from, to - from + 1).Select(m => Monthly(year, m, tablespace, rows: rows));

    public static PartitionLayout Of(params PartitionInfo[] parts) => new() { Schema = "CMR", Table = "SALES_PART", Partitions = parts };

    public static PartitionLayout Of(IEnumerable<PartitionInfo> parts) => Of(parts.ToArray());

    public static DateOnly Day(string iso) => DateOnly.Parse(iso);
}

public sealed class IlmPlannerTests
{
    private static readonly IlmPolicy Policy = IlmPolicy.Default;

    private static IlmPlan Plan(PartitionLayout layout, string asOf, IlmPolicy? policy = null, IlmPlanOptions? options = null) =>
        IlmPlanner.Plan(layout, policy ?? Policy, Layouts.Day(asOf), options);

    private static void AssertNothingLeftToDo(PartitionLayout layout, IlmPlan plan, string asOf, IlmPolicy? policy = null,
        IlmPlanOptions? options = null)
    {
        var after = PlanEffects.Apply(layout, plan);
        var again = Plan(after, asOf, policy, options);
        Assert.False(again.HasWork, "planning right after a run must find nothing: " + string.Join("; ",
            again.Work.Select(a => a.Describe())));
    }

    [Fact]
    public void Scenario1_due_hot_month_merges_straight_into_the_warm_yearly_partition()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));
        var plan = Plan(layout, "2025-12-01");

        var merge = Assert.Single(plan.Work);
        var m = Assert.IsType<MergeAction>(merge);
        Assert.Equal(["P_2023", "P_2023_11"], m.Sources);
        Assert.Equal("P_2023", m.TargetName);
        Assert.Equal(["P_2023_11"], m.MergedSources);
        Assert.Equal(("TBS_WARM", "BASIC", IlmTier.Warm), (m.Tablespace, m.Compression, m.Tier));
        Assert.Equal(new DateTime(2023, 12, 1), m.UpperBound);
        Assert.Equal(1100, m.RowsRewritten); // Oracle rewrites the yearly partition as well
        Assert.DoesNotContain(plan.Actions, a => a is MoveAction);

        var after = PlanEffects.Apply(layout, plan);
        Assert.Equal(["P_2023", "P_2023_12"], after.Partitions.Select(p => p.Name));
        Assert.Equal(new DateTime(2023, 12, 1), after.Partitions[0].UpperBound);
        AssertNothingLeftToDo(layout, plan, "2025-12-01");
    }

    [Fact]
    public void Nothing_is_due_before_the_threshold()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11));
        Assert.False(Plan(layout, "2025-11-30").HasWork);
    }

    [Fact]
    public void Scenario3_several_due_months_merge_in_one_action()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));
        var plan = Plan(layout, "2026-01-01");
        var m = Assert.IsType<MergeAction>(Assert.Single(plan.Work));
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], m.Sources);
        Assert.Equal(new DateTime(2024, 1, 1), m.UpperBound);
        AssertNothingLeftToDo(layout, plan, "2026-01-01");
    }

    [Fact]
    public void Interval_partitioned_tables_merge_pairwise()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11),
            Layouts.Monthly(2023, 12)) with { IsIntervalPartitioned = true };
        var plan = Plan(layout, "2026-01-01");
        var merges = plan.Work.Cast<MergeAction>().ToList();
        Assert.Equal(2, merges.Count);
        Assert.Equal(["P_2023", "P_2023_11"], merges[0].Sources);
        Assert.Equal(["P_2023", "P_2023_12"], merges[1].Sources);
        Assert.Equal(1100, merges[0].RowsRewritten);
        Assert.Equal(1200, merges[1].RowsRewritten);
        Assert.Equal("TBS_WARM", merges[1].HeadTablespace);
        AssertNothingLeftToDo(layout, plan, "2026-01-01");
    }

    [Fact]
    public void Five_due_months_merge_in_one_operation_with_five_merged_sources()
    {
        var layout = Layouts.Of([Layouts.Yearly(2023, new(2023, 8, 1)), .. Layouts.Months(2023, 8, 12)]);
        var plan = Plan(layout, "2026-01-01");
        var m = Assert.IsType<MergeAction>(Assert.Single(plan.Work));
        Assert.Equal(5, m.MergedSources.Count);
        Assert.Equal(5, plan.MergedPartitionCount);
    }

    [Fact]
    public void Complete_year_after_a_complete_yearly_partition_becomes_one_yearly_partition()
    {
        var layout = Layouts.Of([Layouts.Yearly(2022, new(2023, 1, 1)), .. Layouts.Months(2023, 1, 12)]);
        var plan = Plan(layout, "2026-01-01");
        var m = Assert.IsType<MergeAction>(Assert.Single(plan.Work));
        Assert.Equal("P_2023", m.TargetName);
        Assert.Equal("P_2023_01", m.Head);
        Assert.Equal(12, m.MergedSources.Count);
        var after = PlanEffects.Apply(layout, plan);
        Assert.Equal(["P_2022", "P_2023"], after.Partitions.Select(p => p.Name));
        Assert.Equal(new DateTime(2024, 1, 1), after.Partitions[1].UpperBound);
        Assert.Equal(1200, after.Partitions[1].RowEstimate);
        AssertNothingLeftToDo(layout, plan, "2026-01-01");
    }

    [Fact]
    public void Scenario2_january_after_the_complete_previous_year_is_renamed_to_start_its_year()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2024, 1, 1)), Layouts.Monthly(2024, 1), Layouts.Monthly(2024, 2));
        var plan = Plan(layout, "2026-02-01");
        Assert.Collection(plan.Work,
            a => Assert.Equal(new MoveAction("P_2024_01", "TBS_HOT", "TBS_WARM", "BASIC", IlmTier.Warm, 100), a),
            a => Assert.Equal(("P_2024_01", "P_2024"), (Assert.IsType<RenameAction>(a).PartitionName, ((RenameAction)a).NewName)));
        AssertNothingLeftToDo(layout, plan, "2026-02-01");

        // Next month, February merges into the new yearly partition.
        var next = PlanEffects.Apply(layout, plan);
        var merge = Assert.IsType<MergeAction>(Assert.Single(Plan(next, "2026-03-01").Work));
        Assert.Equal(["P_2024", "P_2024_02"], merge.Sources);
    }

    [Fact]
    public void Test3_non_adjacent_month_is_not_merged_and_stays_standalone()
    {
        // P_2023 covers Jan-Jun only; P_2024_01 is next year's January.
        var layout = Layouts.Of(
            Layouts.Yearly(2023, new(2023, 7, 1), lower: new(2023, 1, 1)),
            Layouts.Monthly(2024, 1, withLower: true));
        var plan = Plan(layout, "2026-02-01");
        Assert.DoesNotContain(plan.Actions, a => a is MergeAction or RenameAction);
        Assert.Contains(plan.Actions, a => a is MoveAction { PartitionName: "P_2024_01", ToTablespace: "TBS_WARM" });
        var skip = Assert.Single(plan.Actions.OfType<SkipAction>());
        Assert.Contains("not the complete P_2023", skip.Reason);
        AssertNothingLeftToDo(layout, plan, "2026-02-01");
    }

    [Fact]
    public void A_gap_between_yearly_and_month_is_reported_as_not_adjacent()
    {
        var layout = Layouts.Of(
            Layouts.Yearly(2023, new(2023, 7, 1), lower: new(2023, 1, 1)),
            Layouts.Monthly(2023, 8, withLower: true));
        var plan = Plan(layout, "2026-01-01");
        Assert.DoesNotContain(plan.Actions, a => a is MergeAction);
        Assert.Contains("not adjacent", Assert.Single(plan.Actions.OfType<SkipAction>()).Reason);
    }

    [Fact]
    public void A_year_without_yearly_partition_stays_monthly_unless_create_missing_yearly()
    {
        var layout = Layouts.Of(Layouts.Months(2023, 3, 5));
        var plan = Plan(layout, "2026-01-01");
        Assert.All(plan.Work, a => Assert.IsType<MoveAction>(a));
        Assert.Equal(3, plan.Work.Count());
        Assert.All(plan.Actions.OfType<SkipAction>(), s => Assert.Contains("no yearly partition P_2023", s.Reason));
        AssertNothingLeftToDo(layout, plan, "2026-01-01");

        var create = Policy with { CreateMissingYearly = true };
        var created = Plan(layout, "2026-01-01", create);
        var m = Assert.IsType<MergeAction>(Assert.Single(created.Work));
        Assert.Equal(["P_2023_03", "P_2023_04", "P_2023_05"], m.Sources);
        Assert.Equal("P_2023", m.TargetName);
        AssertNothingLeftToDo(layout, created, "2026-01-01", create);
    }

    [Fact]
    public void Year_complete_without_moves_before_the_merge_leaves_due_months_for_the_year_merge()
    {
        var waits = Policy with { Strategy = MergeStrategy.YearComplete, MoveBeforeMerge = false };
        // P_2023 (to November, still in TBS_HOT), November due for WARM, December not yet: nothing is moved, both wait.
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), tablespace: "TBS_HOT", compression: "NONE"),
            Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));
        var plan = Plan(layout, "2025-12-01", waits);
        Assert.False(plan.HasWork, string.Join("; ", plan.Work.Select(a => a.Describe())));
        Assert.Contains(plan.Actions.OfType<SkipAction>(), s => s.Partition == "P_2023_11" && s.Reason.Contains("move_before_merge"));
        Assert.Contains(plan.Actions.OfType<SkipAction>(), s => s.Partition == "P_2023" && s.Reason.Contains("the merge places it"));
        // A month later the year is due: one merge places the yearly partition and both months in WARM.
        var merge = Assert.IsType<MergeAction>(Assert.Single(Plan(layout, "2026-01-01", waits).Work));
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], merge.Sources);
        Assert.Equal("TBS_WARM", merge.Tablespace);
        // With the default the months are moved as they come due.
        Assert.Contains(Plan(layout, "2025-12-01", Policy with { Strategy = MergeStrategy.YearComplete }).Work, a => a is MoveAction);
        // A year whose remaining months do not exist never completes: its due months are moved, not left waiting.
        var truncated = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), tablespace: "TBS_HOT", compression: "NONE"),
            Layouts.Monthly(2023, 11));
        Assert.Equal(2, Plan(truncated, "2026-01-01", waits).Work.OfType<MoveAction>().Count());
    }

    [Fact]
    public void Create_missing_yearly_with_a_single_due_month_renames_it()
    {
        var layout = Layouts.Of(Layouts.Months(2023, 3, 5));
        var plan = Plan(layout, "2025-04-01", Policy with { CreateMissingYearly = true });
        Assert.Collection(plan.Work,
            a => Assert.IsType<MoveAction>(a),
            a => Assert.Equal("P_2023", Assert.IsType<RenameAction>(a).NewName));
    }

    [Fact]
    public void Nothing_merges_across_tiers()
    {
        // At 2026-11-01 P_2021 (ends 2021-11-01) is COLD, P_2021_11 (ends 2021-12-01) only WARM.
        var layout = Layouts.Of(Layouts.Yearly(2021, new(2021, 11, 1)), Layouts.Monthly(2021, 11, "TBS_WARM", "BASIC"));
        var plan = Plan(layout, "2026-11-01");
        Assert.Equal([new MoveAction("P_2021", "TBS_WARM", "TBS_COLD", "BASIC", IlmTier.Cold, 1000)], plan.Work);
        Assert.Contains("nothing merges across tiers", Assert.Single(plan.Actions.OfType<SkipAction>()).Reason);
        AssertNothingLeftToDo(layout, plan, "2026-11-01");

        // A month later both are COLD: the month merges straight into the COLD yearly partition.
        var next = PlanEffects.Apply(layout, plan);
        var m = Assert.IsType<MergeAction>(Assert.Single(Plan(next, "2026-12-01").Work));
        Assert.Equal(("TBS_COLD", IlmTier.Cold), (m.Tablespace, m.Tier));
    }

    [Fact]
    public void A_yearly_partition_turning_cold_moves_with_its_compression()
    {
        var layout = Layouts.Of(Layouts.Yearly(2020, new(2021, 1, 1)));
        Assert.Equal([new MoveAction("P_2020", "TBS_WARM", "TBS_COLD", "BASIC", IlmTier.Cold, 1000)], Plan(layout, "2026-01-01").Work);
    }

    [Fact]
    public void Wrong_compression_in_the_right_tablespace_is_fixed_by_a_move()
    {
        var layout = Layouts.Of(Layouts.Yearly(2022, new(2023, 1, 1), compression: "NONE"));
        var move = Assert.IsType<MoveAction>(Assert.Single(Plan(layout, "2026-01-01").Work));
        Assert.Equal("BASIC", move.Compression);
    }

    [Fact]
    public void Engines_without_compression_are_not_moved_for_it()
    {
        var layout = Layouts.Of(Layouts.Yearly(2022, new(2023, 1, 1), compression: null));
        Assert.False(Plan(layout, "2026-01-01").HasWork);
    }

    [Fact]
    public void Partitions_already_in_a_colder_tier_are_never_moved_back()
    {
        var layout = Layouts.Of(Layouts.Yearly(2022, new(2023, 1, 1), "TBS_COLD"));
        var plan = Plan(layout, "2026-01-01");
        Assert.False(plan.HasWork);
        Assert.Contains("colder tier", Assert.Single(plan.Actions.OfType<SkipAction>()).Reason);
    }

    [Fact]
    public void Tiers_sharing_one_tablespace_still_merge_without_moves_or_noise()
    {
        var users = new TierSettings(PartitionInterval.Monthly, "USERS", "NONE", 24, false);
        var policy = Policy with
        {
            Hot = users,
            Warm = users with { Interval = PartitionInterval.Yearly, AgeMonths = 60, MergeMonthly = true },
            Cold = users with { Interval = PartitionInterval.Yearly, AgeMonths = null, MergeMonthly = true },
        };
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), "USERS", "NONE"), Layouts.Monthly(2023, 11, "USERS"),
            Layouts.Monthly(2023, 12, "USERS"));
        var plan = Plan(layout, "2026-01-01", policy);
        Assert.Equal(plan.Work, plan.Actions);
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], Assert.IsType<MergeAction>(Assert.Single(plan.Work)).Sources);
        AssertNothingLeftToDo(layout, plan, "2026-01-01", policy);
    }

    [Fact]
    public void Other_names_and_maxvalue_are_reported_and_left_alone()
    {
        var layout = Layouts.Of(
            Layouts.Yearly(2022, new(2023, 1, 1)),
            new PartitionInfo { Name = "SYS_P123", UpperBound = new(2023, 2, 1), Tablespace = "USERS" },
            new PartitionInfo { Name = "P_MAX", Tablespace = "TBS_HOT" });
        var plan = Plan(layout, "2026-06-01");
        Assert.False(plan.HasWork);
        Assert.Equal(["SYS_P123", "P_MAX"], plan.Actions.OfType<SkipAction>().Select(s => s.PartitionName));
    }

    [Fact]
    public void A_month_whose_bounds_do_not_match_its_name_is_left_alone()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 10, 1)), Layouts.Monthly(2023, 11)); // P_2023_11 would cover Oct-Nov
        var plan = Plan(layout, "2026-01-01");
        Assert.False(plan.HasWork);
        Assert.Contains("do not match its name", Assert.Single(plan.Actions.OfType<SkipAction>()).Reason);
    }

    [Fact]
    public void Auto_merge_off_means_moves_only()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11));
        var options = new IlmPlanOptions { MergesEnabled = false };
        var plan = Plan(layout, "2025-12-01", options: options);
        Assert.Equal([new MoveAction("P_2023_11", "TBS_HOT", "TBS_WARM", "BASIC", IlmTier.Warm, 100)], plan.Work);
        AssertNothingLeftToDo(layout, plan, "2025-12-01", options: options);
        Assert.False(Plan(layout, "2025-12-01", Policy with { AutoMerge = false }).Actions.OfType<MergeAction>().Any());
    }

    [Fact]
    public void Max_merges_per_run_limits_merged_partitions_and_moves_the_rest()
    {
        var layout = Layouts.Of([Layouts.Yearly(2023, new(2023, 8, 1)), .. Layouts.Months(2023, 8, 12)]);
        var plan = Plan(layout, "2026-01-01", options: new IlmPlanOptions { MaxMerges = 2 });
        var m = Assert.Single(plan.Work.OfType<MergeAction>());
        Assert.Equal(["P_2023", "P_2023_08", "P_2023_09"], m.Sources);
        Assert.Equal(["P_2023_10", "P_2023_11", "P_2023_12"], plan.Work.OfType<MoveAction>().Select(a => a.PartitionName));
        Assert.All(plan.Actions.OfType<SkipAction>(), s => Assert.Contains("MAX_MERGES_PER_RUN", s.Reason));

        // The next run merges the months already moved to WARM.
        var next = Plan(PlanEffects.Apply(layout, plan), "2026-01-01");
        Assert.Equal(["P_2023", "P_2023_10", "P_2023_11", "P_2023_12"], Assert.IsType<MergeAction>(Assert.Single(next.Work)).Sources);
    }

    [Fact]
    public void Failed_merges_are_not_retried_when_asked_not_to()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11, "TBS_WARM", "BASIC"));
        var options = new IlmPlanOptions { DoNotMerge = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "p_2023_11" } };
        var plan = Plan(layout, "2025-12-01", options: options);
        Assert.False(plan.HasWork);
        Assert.Contains("MERGE_RETRY_FAILED = N", Assert.Single(plan.Actions.OfType<SkipAction>()).Reason);
    }

    [Fact]
    public void Year_complete_waits_for_the_whole_year_then_merges_once()
    {
        var yc = Policy with { Strategy = MergeStrategy.YearComplete };
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));

        var early = Plan(layout, "2025-12-01", yc);
        Assert.Equal([new MoveAction("P_2023_11", "TBS_HOT", "TBS_WARM", "BASIC", IlmTier.Warm, 100)], early.Work);
        Assert.Contains("year_complete", Assert.Single(early.Actions.OfType<SkipAction>()).Reason);
        AssertNothingLeftToDo(layout, early, "2025-12-01", yc);

        var complete = Plan(PlanEffects.Apply(layout, early), "2026-01-01", yc);
        var m = Assert.IsType<MergeAction>(Assert.Single(complete.Work));
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], m.Sources);
    }

    /// <summary>As of 2026-01-01 two complete years are due for WARM: 2022 with 2 months to merge, 2023 with 5.</summary>
    private static PartitionLayout TwoDueYears() => Layouts.Of([
        Layouts.Yearly(2022, new(2022, 11, 1), lower: new(2022, 1, 1)), .. Layouts.Months(2022, 11, 12),
        Layouts.Yearly(2023, new(2023, 8, 1)), .. Layouts.Months(2023, 8, 12)]);

    [Fact]
    public void Year_complete_never_splits_a_year_with_max_merges_a_year_that_does_not_fit_waits_for_the_next_run()
    {
        var yc = Policy with { Strategy = MergeStrategy.YearComplete };
        var layout = TwoDueYears();
        var plan = Plan(layout, "2026-01-01", yc, new IlmPlanOptions { MaxMerges = 5 });

        // 2022 (2 months) fits; 2023 (5 months) does not fit in the 3 left: it waits whole, its months only moved.
        var merge = Assert.Single(plan.Work.OfType<MergeAction>());
        Assert.Equal(["P_2022", "P_2022_11", "P_2022_12"], merge.Sources);
        Assert.Equal(["P_2023_08", "P_2023_09", "P_2023_10", "P_2023_11", "P_2023_12"],
            plan.Work.OfType<MoveAction>().Select(m => m.PartitionName));
        var skips = plan.Actions.OfType<SkipAction>().ToList();
        Assert.Equal(5, skips.Count);
        Assert.All(skips, s =>
        {
            Assert.Equal("P_2023", s.WouldMergeInto);
            Assert.Contains("MAX_MERGES_PER_RUN", s.Reason);
            Assert.Contains("later run", s.Reason);
        });

        // The next run merges the whole of 2023 in one operation.
        var next = Plan(PlanEffects.Apply(layout, plan), "2026-01-01", yc, new IlmPlanOptions { MaxMerges = 5 });
        Assert.Equal(["P_2023", "P_2023_08", "P_2023_09", "P_2023_10", "P_2023_11", "P_2023_12"],
            Assert.IsType<MergeAction>(Assert.Single(next.Work)).Sources);
    }

    [Fact]
    public void Year_complete_with_a_year_larger_than_max_merges_says_how_far_to_raise_it()
    {
        var yc = Policy with { Strategy = MergeStrategy.YearComplete };
        var layout = Layouts.Of([Layouts.Yearly(2023, new(2023, 8, 1)), .. Layouts.Months(2023, 8, 12)]);
        var plan = Plan(layout, "2026-01-01", yc, new IlmPlanOptions { MaxMerges = 2 });

        Assert.Empty(plan.Work.OfType<MergeAction>());
        Assert.Equal(5, plan.Work.OfType<MoveAction>().Count());
        Assert.All(plan.Actions.OfType<SkipAction>(), s =>
        {
            Assert.Equal("P_2023", s.WouldMergeInto);
            Assert.Contains("MAX_MERGES_PER_RUN = 2", s.Reason);
            Assert.Contains("5 months", s.Reason);
        });
    }

    [Fact]
    public void Year_complete_counts_the_january_that_starts_a_year_in_the_cap()
    {
        // 2024 starts from January after the complete P_2023: 12 months (January included) merge into P_2024.
        var yc = Policy with { Strategy = MergeStrategy.YearComplete };
        var layout = Layouts.Of([Layouts.Yearly(2023, new(2024, 1, 1)), .. Layouts.Months(2024, 1, 12)]);
        Assert.Equal(12, Assert.IsType<MergeAction>(
            Assert.Single(Plan(layout, "2027-01-01", yc, new IlmPlanOptions { MaxMerges = 12 }).Work.OfType<MergeAction>()))
            .MergedSources.Count);

        var capped = Plan(layout, "2027-01-01", yc, new IlmPlanOptions { MaxMerges = 11 });
        Assert.Empty(capped.Work.OfType<MergeAction>());
        Assert.Contains("12 months", capped.Actions.OfType<SkipAction>().First().Reason);
    }

    [Fact]
    public void Max_merges_of_zero_holds_a_complete_year_back_without_asking_to_raise_it()
    {
        var yc = Policy with { Strategy = MergeStrategy.YearComplete };
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));
        var plan = Plan(layout, "2026-01-01", yc, new IlmPlanOptions { MaxMerges = 0 });
        Assert.Empty(plan.Work.OfType<MergeAction>());
        Assert.All(plan.Actions.OfType<SkipAction>(), s => Assert.DoesNotContain("raise", s.Reason));
    }

    [Fact]
    public void Year_complete_still_renames_january_after_a_complete_year()
    {
        var yc = Policy with { Strategy = MergeStrategy.YearComplete };
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2024, 1, 1)), Layouts.Monthly(2024, 1), Layouts.Monthly(2024, 2));
        var plan = Plan(layout, "2026-03-01", yc);
        Assert.Equal(["Move", "Rename", "Move"], plan.Work.Select(a => a.Kind.ToString()));
        Assert.Contains("year_complete", Assert.Single(plan.Actions.OfType<SkipAction>()).Reason);
    }

    [Fact]
    public void Postgres_merges_rewrite_only_the_months_unless_the_yearly_partition_moves()
    {
        var options = new IlmPlanOptions { MergeRewritesTarget = false };
        var warm = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), compression: null), Layouts.Monthly(2023, 11, compression: null));
        Assert.Equal(100, Assert.IsType<MergeAction>(Assert.Single(Plan(warm, "2025-12-01", options: options).Work)).RowsRewritten);
        var hot = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), "TBS_HOT", null), Layouts.Monthly(2023, 11, compression: null));
        Assert.Equal(1100, Assert.IsType<MergeAction>(Assert.Single(Plan(hot, "2025-12-01", options: options).Work)).RowsRewritten);
    }

    [Fact]
    public void Names_are_case_insensitive_and_keep_their_case()
    {
        var layout = Layouts.Of(
            new PartitionInfo { Name = "p_2023", UpperBound = new(2024, 1, 1), Tablespace = "tbs_warm" },
            new PartitionInfo { Name = "p_2024_01", UpperBound = new(2024, 2, 1), Tablespace = "tbs_hot" });
        var plan = Plan(layout, "2026-02-01");
        Assert.Equal("p_2024", plan.Work.OfType<RenameAction>().Single().NewName);
    }

    [Fact]
    public void Disabled_policy_plans_nothing()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11));
        var plan = Plan(layout, "2026-01-01", Policy with { Enabled = false });
        Assert.False(plan.HasWork);
    }

    [Fact]
    public void A_long_history_converges_and_replanning_finds_nothing()
    {
        // Five years of monthly partitions after one yearly partition, planned for the first time.
        var parts = new List<PartitionInfo> { Layouts.Yearly(2019, new(2020, 1, 1)) };
        for (var y = 2020; y <= 2025; y++) parts.AddRange(Layouts.Months(y, 1, 12));
        parts.Add(new PartitionInfo { Name = "P_MAX", Tablespace = "TBS_HOT" });
        var layout = Layouts.Of(parts);
        var plan = Plan(layout, "2026-01-01");
        var after = PlanEffects.Apply(layout, plan);
        var names = after.Partitions.Select(p => p.Name).ToList();
        Assert.Equal(["P_2019", "P_2020", "P_2021", "P_2022", "P_2023"], names.Take(5));
        Assert.Equal("P_2024_01", names[5]);
        Assert.Equal(["TBS_COLD", "TBS_COLD", "TBS_WARM", "TBS_WARM", "TBS_WARM"], after.Partitions.Take(5).Select(p => p.Tablespace));
        AssertNothingLeftToDo(layout, plan, "2026-01-01");
    }

    // ---- a failed merge still takes its months to their tier (spec, "If Merge Fails")

    [Fact]
    public void A_due_hot_month_merging_straight_into_warm_is_moved_there_if_the_merge_fails()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11));
        var merge = Assert.IsType<MergeAction>(Assert.Single(Plan(layout, "2025-12-01").Work));

        var move = Assert.Single(merge.MovesIfFailed);
        Assert.Equal(("P_2023_11", "TBS_HOT", "TBS_WARM", "BASIC", IlmTier.Warm, "P_2023"),
            (move.PartitionName, move.FromTablespace, move.ToTablespace, move.Compression, move.Tier, move.AfterFailedMergeInto));
        Assert.EndsWith("; if the merge fails, P_2023_11 is moved to TBS_WARM on its own", merge.Describe());
        Assert.EndsWith(": the merge into P_2023 failed, the month still goes to its tier", move.Describe());
    }

    [Fact]
    public void Months_already_in_their_tier_need_no_move_if_the_merge_fails()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11, "TBS_WARM", "BASIC"),
            Layouts.Monthly(2023, 12));
        var merge = Assert.IsType<MergeAction>(Assert.Single(Plan(layout, "2026-01-01").Work));
        Assert.Equal(["P_2023_12"], merge.MovesIfFailed.Select(m => m.PartitionName));

        var placed = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11, "TBS_WARM", "BASIC"));
        var quiet = Assert.IsType<MergeAction>(Assert.Single(Plan(placed, "2025-12-01").Work));
        Assert.Empty(quiet.MovesIfFailed);
        Assert.DoesNotContain("if the merge fails", quiet.Describe());
    }

    [Fact]
    public void A_month_in_the_right_tablespace_with_the_wrong_compression_is_moved_if_the_merge_fails()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11, "TBS_WARM", "NONE"));
        var merge = Assert.IsType<MergeAction>(Assert.Single(Plan(layout, "2025-12-01").Work));
        Assert.Equal(("P_2023_11", "BASIC"), (Assert.Single(merge.MovesIfFailed).PartitionName, merge.MovesIfFailed[0].Compression));
    }

    [Fact]
    public void A_month_in_a_colder_tier_is_not_moved_back_if_the_merge_fails()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11, "TBS_COLD", "BASIC"));
        var merge = Assert.IsType<MergeAction>(Assert.Single(Plan(layout, "2025-12-01").Work));
        Assert.Empty(merge.MovesIfFailed);
    }

    [Fact]
    public void A_new_yearly_partition_moves_every_month_if_its_merge_fails_but_never_the_yearly_head()
    {
        // January after the complete P_2023 starts P_2024 with February: both months are merged-in sources.
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2024, 1, 1), "TBS_HOT", "NONE"), Layouts.Monthly(2024, 1),
            Layouts.Monthly(2024, 2));
        var plan = Plan(layout, "2026-03-01");
        var merge = plan.Work.OfType<MergeAction>().Single();
        Assert.Equal("P_2024", merge.TargetName);
        Assert.Equal(["P_2024_01", "P_2024_02"], merge.MovesIfFailed.Select(m => m.PartitionName));

        // An existing yearly partition outside its tier is placed by the merge; a failed merge does not rewrite it alone.
        var hotYearly = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), "TBS_HOT", "NONE"), Layouts.Monthly(2023, 11));
        var grows = Assert.IsType<MergeAction>(Assert.Single(Plan(hotYearly, "2025-12-01").Work));
        Assert.Equal(["P_2023_11"], grows.MovesIfFailed.Select(m => m.PartitionName));
    }

    [Fact]
    public void Pairwise_merges_each_move_their_own_month_if_they_fail()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11),
            Layouts.Monthly(2023, 12)) with { IsIntervalPartitioned = true };
        var merges = Plan(layout, "2026-01-01").Work.OfType<MergeAction>().ToList();
        Assert.Equal([["P_2023_11"], ["P_2023_12"]], merges.Select(m => m.MovesIfFailed.Select(x => x.PartitionName).ToList()));
    }

    [Fact]
    public void A_dry_run_shows_the_fallback_in_the_merge_and_no_separate_move()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11));
        var planned = PartitionOps.Engine.Ilm.IlmService.PlanOffline(layout, Policy, new DateOnly(2025, 12, 1),
            PartitionOps.Engine.Providers.Oracle.OracleProvider.Instance);
        var step = Assert.Single(planned.Steps);
        Assert.Contains("if the merge fails, P_2023_11 is moved to TBS_WARM on its own", step.Describe());
        Assert.DoesNotContain(step.Statements, s => s.Text.Contains("MOVE PARTITION"));
    }

    // ---- the spec's edge cases 3 and 6, and a tier that keeps its months monthly

    [Fact]
    public void Edge_case_3_a_partial_yearly_partition_at_the_tier_boundary_grows_by_exactly_the_due_month()
    {
        // P_2023 ends at 2023-11-01; on 2025-12-01 November has just turned WARM, December is still HOT.
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), lower: new(2023, 1, 1)), Layouts.Monthly(2023, 11),
            Layouts.Monthly(2023, 12));

        Assert.False(Plan(layout, "2025-11-30").HasWork); // one day before the boundary nothing is due

        var plan = Plan(layout, "2025-12-01");
        var merge = Assert.IsType<MergeAction>(Assert.Single(plan.Work));
        Assert.Equal(["P_2023", "P_2023_11"], merge.Sources);
        Assert.Equal((new DateTime(2023, 1, 1), new DateTime(2023, 12, 1)), (merge.LowerBound, merge.UpperBound));
        Assert.DoesNotContain(plan.Actions, a => a.Partition == "P_2023_12"); // HOT: not touched, not even reported

        var after = PlanEffects.Apply(layout, plan);
        Assert.Equal([("P_2023", new DateTime(2023, 12, 1)), ("P_2023_12", new DateTime(2024, 1, 1))],
            after.Partitions.Select(p => (p.Name, p.UpperBound!.Value)));
        AssertNothingLeftToDo(layout, plan, "2025-12-01");

        // A month later December completes the year.
        var next = Assert.IsType<MergeAction>(Assert.Single(Plan(after, "2026-01-01").Work));
        Assert.Equal((["P_2023", "P_2023_12"], new DateTime(2024, 1, 1)), (next.Sources.ToList(), next.UpperBound), new SourcesAndUpper());
    }

    private sealed class SourcesAndUpper : IEqualityComparer<(List<string>, DateTime)>
    {
        public bool Equals((List<string>, DateTime) x, (List<string>, DateTime) y) => x.Item1.SequenceEqual(y.Item1) && x.Item2 == y.Item2;
        public int GetHashCode((List<string>, DateTime) obj) => obj.Item2.GetHashCode();
    }

    [Fact]
    public void Edge_case_6_months_with_another_compression_still_merge_and_the_result_has_the_tiers_compression()
    {
        // November uncompressed in HOT, December uncompressed but already in TBS_WARM; P_2023 has the tier's BASIC.
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), compression: "BASIC"),
            Layouts.Monthly(2023, 11, "TBS_HOT", "NONE"), Layouts.Monthly(2023, 12, "TBS_WARM", "NONE"));
        var plan = Plan(layout, "2026-01-01");
        var merge = Assert.IsType<MergeAction>(Assert.Single(plan.Work));
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], merge.Sources);
        Assert.Equal(("TBS_WARM", "BASIC"), (merge.Tablespace, merge.Compression));
        var merged = Assert.Single(PlanEffects.Apply(layout, plan).Partitions);
        Assert.Equal(("P_2023", "TBS_WARM", "BASIC"), (merged.Name, merged.Tablespace, merged.Compression));
        // The statement states the compression: an Oracle merge would otherwise take the table's default.
        var planned = PartitionOps.Engine.Ilm.IlmService.PlanOffline(layout, Policy, new DateOnly(2026, 1, 1),
            PartitionOps.Engine.Providers.Oracle.OracleProvider.Instance);
        Assert.Contains(planned.Steps.Single().Statements,
            st => st.Text.Contains(PartitionOps.Engine.Providers.Oracle.OracleIlmDialect.CompressionClause("BASIC")));

        // A yearly partition with another compression than its tier's: the result gets the tier's (DESIGN §6), not the yearly one's.
        var advanced = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1), compression: "ADVANCED"),
            Layouts.Monthly(2023, 11, "TBS_HOT", "NONE"));
        var plan2 = Plan(advanced, "2025-12-01");
        Assert.Equal("BASIC", Assert.IsType<MergeAction>(Assert.Single(plan2.Work)).Compression);
        Assert.Equal("BASIC", Assert.Single(PlanEffects.Apply(advanced, plan2).Partitions).Compression);
        AssertNothingLeftToDo(advanced, plan2, "2025-12-01");
    }

    [Fact]
    public void A_tier_with_merge_monthly_false_moves_its_months_but_never_merges_them()
    {
        var policy = Policy with { Warm = Policy.Warm with { MergeMonthly = false } };
        var layout = Layouts.Of(
            Layouts.Yearly(2019, new(2019, 11, 1), "TBS_COLD", lower: new(2019, 1, 1)), Layouts.Monthly(2019, 11, "TBS_WARM", "BASIC"),
                Layouts.Monthly(2019, 12, "TBS_WARM", "BASIC"),
            Layouts.Yearly(2023, new(2023, 11, 1), lower: new(2023, 1, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));

        var plan = Plan(layout, "2026-01-01", policy);

        // COLD still merges (its merge_monthly is true); WARM months are only moved, and stay monthly without complaint.
        var merge = Assert.Single(plan.Work.OfType<MergeAction>());
        Assert.Equal((IlmTier.Cold, "P_2019"), (merge.Tier, merge.TargetName));
        Assert.Equal([("P_2023_11", "TBS_WARM"), ("P_2023_12", "TBS_WARM")],
            plan.Work.OfType<MoveAction>().Select(m => (m.PartitionName, m.ToTablespace)));
        Assert.DoesNotContain(plan.Actions.OfType<SkipAction>(), s => s.Partition.StartsWith("P_2023", StringComparison.Ordinal));
        var after = PlanEffects.Apply(layout, plan);
        Assert.Equal(["P_2019", "P_2023", "P_2023_11", "P_2023_12"], after.Partitions.Select(p => p.Name));
        AssertNothingLeftToDo(layout, plan, "2026-01-01", policy);

        // Once those months reach COLD they merge there.
        var cold = Assert.IsType<MergeAction>(Assert.Single(Plan(after, "2029-01-01", policy).Work.OfType<MergeAction>()));
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], cold.Sources);
    }
}
