using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.PowerShell.Ilm;

/// <summary>
/// What Get-IlmMergeCandidate writes: one planned action of one table, with the SQL it runs. Its properties are
/// named after Invoke-IlmPartitionMerge's parameters (Connection, Table, Schema, ControlSchema, Policy, AsOf,
/// Action, SourcePartition, TargetPartition), so candidates pipe into it by property name and it re-plans the
/// same table with the same policy and date. Only strings, numbers and DateTime here (no engine enum or struct:
/// see ImportOrderTests).
/// </summary>
public sealed class IlmMergeCandidate
{
    /// <summary>Where the table lives; binds Invoke-IlmPartitionMerge's -Connection.</summary>
    public PartitionOpsConnection? Connection { get; init; }

    public string Schema { get; init; } = "";
    public required string Table { get; init; }

    /// <summary>The -ControlSchema the plan was made with (null: the provider's default).</summary>
    public string? ControlSchema { get; init; }

    /// <summary>Full path of the -Policy file the plan was made with (null: the spec's defaults).</summary>
    public string? Policy { get; init; }

    /// <summary>The date the plan was made for (time of day 00:00).</summary>
    public DateTime AsOf { get; init; }

    /// <summary>Move, Merge, Rename or Skip.</summary>
    public required string Action { get; init; }

    /// <summary>Move/Rename/Skip: the partition; Merge: every partition of the merge, lowest first (the one that grows first).</summary>
    public required string[] SourcePartition { get; init; }

    /// <summary>
    /// Merge: the resulting partition; Rename: the new name; Skip: the partition it would merge into, if held back;
    /// Move: none (see Tablespace).
    /// </summary>
    public string? TargetPartition { get; init; }

    /// <summary>HOT, WARM or COLD: the tier the action places the partition in.</summary>
    public string? Tier { get; init; }

    public string? Tablespace { get; init; }
    public string? Compression { get; init; }

    /// <summary>What and why, in words (for a skip: why nothing happens).</summary>
    public required string Reason { get; init; }

    /// <summary>Rows the action copies (catalog estimates).</summary>
    public long RowsRewritten { get; init; }

    /// <summary>The exact statements, as -WhatIf prints them.</summary>
    public string Sql { get; init; } = "";

    public IReadOnlyList<SqlStatement> Statements { get; init; } = [];

    public override string ToString() => $"{Schema}.{Table}: {Reason}";

    /// <summary>One candidate per planned action (and, with <paramref name="includeSkipped"/>, per skip with its reason).</summary>
    public static IEnumerable<IlmMergeCandidate> From(IlmPlanResult plan, IlmPolicy policy, PartitionOpsConnection? connection,
        string? controlSchema, string? policyPath, bool includeSkipped)
    {
        var statements = plan.Steps.ToDictionary(s => (object)s.Action, s => s.Statements, ReferenceEqualityComparer.Instance);
        foreach (var action in plan.Plan.Actions)
        {
            var isSkip = action is SkipAction;
            if (isSkip && !includeSkipped) continue;
            var sql = statements.TryGetValue(action, out var s) ? s : [];
            yield return new IlmMergeCandidate
            {
                Connection = connection,
                Schema = plan.Layout.Schema,
                Table = plan.Layout.Table,
                ControlSchema = controlSchema,
                Policy = policyPath,
                AsOf = plan.Plan.AsOf.ToDateTime(TimeOnly.MinValue),
                Action = action.Kind.ToString(),
                SourcePartition = IlmOutput.Sources(action),
                TargetPartition = IlmOutput.Target(action),
                Tier = IlmOutput.Tier(action, plan, policy),
                Tablespace = action switch { MoveAction m => m.ToTablespace, MergeAction m => m.Tablespace, _ => null },
                Compression = action switch { MoveAction m => m.Compression, MergeAction m => m.Compression, _ => null },
                Reason = IlmOutput.Reason(action),
                RowsRewritten = action.RowsRewritten,
                Sql = PlanText.Sql((IReadOnlyList<SqlStatement>)sql),
                Statements = (IReadOnlyList<SqlStatement>)sql,
            };
        }
    }
}

/// <summary>What Invoke-IlmMaintenance and Invoke-IlmPartitionMerge write: one action of a run and how it went.</summary>
public sealed class IlmActionResult
{
    public string Schema { get; init; } = "";
    public required string Table { get; init; }
    public required string Action { get; init; }
    public required string[] SourcePartition { get; init; }
    public string? TargetPartition { get; init; }
    public string? Tier { get; init; }

    /// <summary>SUCCESS, FAILED, SKIPPED, or NOT_STARTED (-MaxDuration reached: the next run does it).</summary>
    public required string Status { get; init; }

    public double DurationSeconds { get; init; }
    public long? RowsBefore { get; init; }
    public long? RowsAfter { get; init; }

    /// <summary>Merge: rows of the partitions merged in (not the one that grew), counted; the sum of the audit rows' rows_merged.</summary>
    public long? RowsMerged { get; init; }

    /// <summary>
    /// Move: the moved partition's rows as the catalog estimates them (reltuples / NUM_ROWS at the last analyse), not counted.
    /// </summary>
    public long? RowsMovedEstimate { get; init; }
    public long RowsRewritten { get; init; }

    /// <summary>Rows the action wrote, counted (the copies' row counts); null when not counted.</summary>
    public long? RowsWritten { get; init; }
    public string? Error { get; init; }
    public required string Reason { get; init; }
    public string Sql { get; init; } = "";

    public const string NotStarted = "NOT_STARTED";

    public override string ToString() => $"{Schema}.{Table}: {Reason}: {Status}";

    /// <summary>The outcomes of a run, then the actions -MaxDuration left for the next run.</summary>
    public static IEnumerable<IlmActionResult> From(IlmRunResult run, IlmPolicy policy)
    {
        var plan = run.Plan;
        foreach (var o in run.Outcomes)
        {
            yield return new IlmActionResult
            {
                Schema = plan.Layout.Schema,
                Table = plan.Layout.Table,
                Action = o.Action.Kind.ToString(),
                SourcePartition = IlmOutput.Sources(o.Action),
                TargetPartition = IlmOutput.Target(o.Action),
                Tier = IlmOutput.Tier(o.Action, plan, policy),
                Status = o.Status,
                DurationSeconds = Math.Round(o.Duration.TotalSeconds, 3),
                RowsBefore = o.RowsBefore,
                RowsAfter = o.RowsAfter,
                RowsMerged = o.RowsMerged,
                RowsMovedEstimate = o.RowsMovedEstimate,
                RowsRewritten = o.Action.RowsRewritten,
                RowsWritten = o.RowsWritten,
                Error = o.Error,
                Reason = IlmOutput.Reason(o.Action),
                Sql = PlanText.Sql(o.Statements),
            };
        }
        foreach (var a in run.NotStarted)
        {
            yield return new IlmActionResult
            {
                Schema = plan.Layout.Schema,
                Table = plan.Layout.Table,
                Action = a.Kind.ToString(),
                SourcePartition = IlmOutput.Sources(a),
                TargetPartition = IlmOutput.Target(a),
                Tier = IlmOutput.Tier(a, plan, policy),
                Status = NotStarted,
                RowsRewritten = a.RowsRewritten,
                Reason = IlmOutput.Reason(a),
            };
        }
    }
}

/// <summary>One row per tier of Get-IlmPartitionSummary: yearly vs monthly partitions where they are now.</summary>
public sealed class IlmPartitionSummaryRow
{
    public string Schema { get; init; } = "";
    public required string Table { get; init; }

    /// <summary>HOT, WARM, COLD, or OTHER (a tablespace the policy does not name).</summary>
    public required string Tier { get; init; }

    public string? Tablespace { get; init; }
    public int Yearly { get; init; }
    public int Monthly { get; init; }
    public int Other { get; init; }
    public int Total { get; init; }

    /// <summary>Catalog row estimate.</summary>
    public long Rows { get; init; }

    /// <summary>Monthly share of the tier's partitions, percent (the spec's success criterion for WARM: below 20).</summary>
    public decimal? MonthlyPercent { get; init; }

    public static IEnumerable<IlmPartitionSummaryRow> From(PartitionOps.Engine.Ilm.Monitoring.IlmSummary summary) =>
        summary.Tiers.Select(t => new IlmPartitionSummaryRow
        {
            Schema = summary.Schema,
            Table = summary.Table,
            Tier = t.Tier,
            Tablespace = t.Tablespace,
            Yearly = t.Yearly,
            Monthly = t.Monthly,
            Other = t.Other,
            Total = t.Total,
            Rows = t.Rows,
            MonthlyPercent = t.Total == 0 ? null : Math.Round(t.Monthly * 100m / t.Total, 2),
        });
}

/// <summary>Shared wording of actions in the ILM output objects.</summary>
public static class IlmOutput
{
    public static string[] Sources(IlmAction action) => action switch
    {
        MergeAction m => m.Sources.ToArray(),
        _ => [action.Partition],
    };

    public static string? Target(IlmAction action) => action switch
    {
        MergeAction m => m.TargetName,
        RenameAction r => r.NewName,
        SkipAction s => s.WouldMergeInto,
        _ => null,
    };

    public static string Reason(IlmAction action) => action switch
    {
        RenameAction r => r.Describe(),
        SkipAction s => s.Reason,
        _ => action.Describe(),
    };

    /// <summary>The tier the action places the partition in; for renames and skips the tier its age puts it in.</summary>
    public static string? Tier(IlmAction action, IlmPlanResult plan, IlmPolicy policy)
    {
        var tier = action switch
        {
            MoveAction m => m.Tier,
            MergeAction m => m.Tier,
            _ => plan.Layout.Partitions.FirstOrDefault(p => p.Name.Equals(action.Partition, StringComparison.OrdinalIgnoreCase)) is { } p
                ? policy.TierOf(p.UpperBound, plan.Plan.AsOf)
                : (IlmTier?)null,
        };
        return tier?.ToString().ToUpperInvariant();
    }
}
