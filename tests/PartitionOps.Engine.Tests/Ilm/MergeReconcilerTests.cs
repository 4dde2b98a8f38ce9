using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>
/// How an interrupted merge ended, from the catalog. Oracle merges into the highest source and renames it to the
/// target; a run may die between the two. Layouts are Oracle-style (upper bounds only, as ALL_TAB_PARTITIONS stores
/// them) unless a lower bound is given.
/// </summary>
public sealed class MergeReconcilerTests
{
    private static MergeAuditRecord Row(string source, string target) =>
        new(1, null, "CMR", "SALES_PART", source, target, "IN_PROGRESS", null, null, null);

    private static PartitionInfo P(string name, string upper, string? lower = null) => new()
    {
        Name = name,
        UpperBound = DateTime.Parse(upper),
        LowerBound = lower is null ? null : DateTime.Parse(lower),
    };

    private static ReconcileDecision Decide(PartitionLayout layout, params MergeAuditRecord[] rows) =>
        Assert.Single(MergeReconciler.Decide(layout, rows));

    // ---- one month into the existing yearly partition: MERGE P_2023, P_2023_11 INTO P_2023_11; RENAME P_2023_11 TO P_2023.
    // The audit holds one row (P_2023_11 -> P_2023): the partition that grows keeps its name and has no row.

    private static readonly MergeAuditRecord[] OneMonth = [Row("P_2023_11", "P_2023")];

    [Fact]
    public void One_month_nothing_done_is_not_started()
    {
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023", "2023-11-01"), P("P_2023_11", "2023-12-01")), OneMonth);
        Assert.Equal(ReconcileOutcome.NotStarted, d.Outcome);
    }

    [Fact]
    public void One_month_merged_not_renamed_needs_the_rename()
    {
        // P_2023_11 now holds [2023-01-01, 2023-12-01): every source name is still there, the target is not.
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023_11", "2023-12-01"), P("P_2024_01", "2024-02-01")), OneMonth);
        Assert.Equal((ReconcileOutcome.RenameNeeded, "P_2023_11"), (d.Outcome, d.RenameFrom));
        Assert.Contains("[2023-01-01, 2023-12-01)", d.Message);
    }

    [Fact]
    public void One_month_merged_not_renamed_as_the_first_partition_needs_the_rename()
    {
        // P_2023 was the table's first partition: the merged P_2023_11 has no lower bound at all.
        var d = Decide(Layouts.Of(P("P_2023_11", "2023-12-01"), P("P_2023_12", "2024-01-01")), OneMonth);
        Assert.Equal((ReconcileOutcome.RenameNeeded, "P_2023_11"), (d.Outcome, d.RenameFrom));
    }

    [Fact]
    public void One_month_merged_and_renamed_is_completed()
    {
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023", "2023-12-01"), P("P_2023_12", "2024-01-01")), OneMonth);
        Assert.Equal(ReconcileOutcome.Completed, d.Outcome);
    }

    [Fact]
    public void One_month_whose_target_vanished_while_the_month_kept_its_bounds_is_unclear()
    {
        // P_2023 dropped by hand (PostgreSQL-style explicit bounds): P_2023_11 still holds only November.
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01", "2022-01-01"), P("P_2023_11", "2023-12-01", "2023-11-01")), OneMonth);
        Assert.Equal(ReconcileOutcome.Unclear, d.Outcome);
        Assert.Contains("no P_2023", d.Message);
        Assert.Contains("check by hand", d.Message);
    }

    [Fact]
    public void One_month_whose_month_vanished_while_the_target_did_not_grow_is_unclear()
    {
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023", "2023-11-01"), P("P_2023_12", "2024-01-01", "2023-12-01")),
            OneMonth);
        Assert.Equal(ReconcileOutcome.Unclear, d.Outcome);
        Assert.Contains("P_2023 [2023-01-01, 2023-11-01)", d.Message);
    }

    [Fact]
    public void A_month_that_would_claim_the_previous_year_is_not_renamed()
    {
        // P_2023_11 reaching back into 2022 cannot become P_2023.
        var d = Decide(Layouts.Of(P("P_2021", "2022-01-01"), P("P_2023_11", "2023-12-01")), OneMonth);
        Assert.Equal(ReconcileOutcome.Unclear, d.Outcome);
    }

    // ---- several months: MERGE P_2023, P_2023_11, P_2023_12 INTO P_2023_12; RENAME P_2023_12 TO P_2023.

    private static readonly MergeAuditRecord[] TwoMonths = [Row("P_2023_11", "P_2023"), Row("P_2023_12", "P_2023")];

    [Fact]
    public void Several_months_nothing_done_is_not_started()
    {
        var d = Decide(Layouts.Of(P("P_2023", "2023-11-01"), P("P_2023_11", "2023-12-01"), P("P_2023_12", "2024-01-01")), TwoMonths);
        Assert.Equal(ReconcileOutcome.NotStarted, d.Outcome);
    }

    [Fact]
    public void Several_months_merged_not_renamed_needs_the_rename()
    {
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023_12", "2024-01-01"), P("P_2024_01", "2024-02-01")), TwoMonths);
        Assert.Equal((ReconcileOutcome.RenameNeeded, "P_2023_12"), (d.Outcome, d.RenameFrom));
        Assert.Equal(2, d.Rows.Count);
    }

    [Fact]
    public void Several_months_merged_and_renamed_is_completed()
    {
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023", "2024-01-01"), P("P_2024_01", "2024-02-01")), TwoMonths);
        Assert.Equal(ReconcileOutcome.Completed, d.Outcome);
    }

    [Fact]
    public void Several_months_with_a_source_left_behind_is_unclear()
    {
        var d = Decide(Layouts.Of(P("P_2023_11", "2023-12-01")), TwoMonths);
        Assert.Equal(ReconcileOutcome.Unclear, d.Outcome);
    }

    [Fact]
    public void Several_months_where_the_highest_kept_only_its_month_is_unclear()
    {
        // P_2023 and P_2023_11 gone, P_2023_12 still its own month: not what a merge leaves.
        var d = Decide(Layouts.Of(P("P_2022", "2023-01-01", "2022-01-01"), P("P_2023_12", "2024-01-01", "2023-12-01")), TwoMonths);
        Assert.Equal(ReconcileOutcome.Unclear, d.Outcome);
    }

    // ---- months starting a new yearly partition: MERGE P_2024_01, P_2024_02 INTO P_2024_02; RENAME P_2024_02 TO P_2024.
    // The target never existed before the merge.

    private static readonly MergeAuditRecord[] NewYear = [Row("P_2024_01", "P_2024"), Row("P_2024_02", "P_2024")];

    [Fact]
    public void A_new_yearly_partition_not_started_is_not_started()
    {
        var d = Decide(Layouts.Of(P("P_2023", "2024-01-01"), P("P_2024_01", "2024-02-01"), P("P_2024_02", "2024-03-01")), NewYear);
        Assert.Equal(ReconcileOutcome.NotStarted, d.Outcome);
    }

    [Fact]
    public void A_new_yearly_partition_from_january_is_renamed_from_the_last_month()
    {
        var d = Decide(Layouts.Of(P("P_2023", "2024-01-01"), P("P_2024_02", "2024-03-01")), NewYear);
        Assert.Equal((ReconcileOutcome.RenameNeeded, "P_2024_02"), (d.Outcome, d.RenameFrom));
    }

    [Fact]
    public void A_new_yearly_partition_merged_and_renamed_is_completed()
    {
        var d = Decide(Layouts.Of(P("P_2023", "2024-01-01"), P("P_2024", "2024-03-01")), NewYear);
        Assert.Equal(ReconcileOutcome.Completed, d.Outcome);
    }

    // ---- several interrupted merges are decided one by one.

    [Fact]
    public void Each_target_is_decided_on_its_own()
    {
        var layout = Layouts.Of(P("P_2022", "2023-01-01"), P("P_2023_11", "2023-12-01"), P("P_2024", "2024-03-01"));
        var decisions = MergeReconciler.Decide(layout, [.. OneMonth, .. NewYear]);
        Assert.Equal([ReconcileOutcome.RenameNeeded, ReconcileOutcome.Completed], decisions.Select(d => d.Outcome));
    }

    [Fact]
    public void Sources_that_are_not_months_are_unclear()
    {
        var d = Decide(Layouts.Of(P("P_2023", "2024-01-01")), Row("SYS_P42", "P_2023"));
        Assert.Equal(ReconcileOutcome.Unclear, d.Outcome);
    }
}
