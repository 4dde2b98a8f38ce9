using System.Globalization;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Simulation;
using PartitionOps.Engine.Providers;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace PartitionOps.Cli.Output;

/// <summary>Human renderings of the ILM results (the JSON renderings are in <see cref="IlmDocuments"/>).</summary>
internal static class IlmTables
{
    public static void Plan(IAnsiConsole console, IlmPlanResult result, bool header = true)
    {
        var plan = result.Plan;
        if (header)
            console.WriteLine(PlanComment.Line($"ilm plan for {Qualified(plan.Schema, plan.Table)} as of {plan.AsOf:yyyy-MM-dd} " +
                                               $"({result.Provider}, {IlmDocuments.Name(plan.Strategy.ToString())}): nothing was changed"));
        if (result.Steps.Count == 0)
            console.WriteLine("-- nothing to do: every partition is in its tier and merged");
        else
        {
            var session = result.SessionSetup.Select(s =>
                s.Text.TrimEnd().TrimEnd(';')
                + string.Concat(s.Parameters.Select(p => " [" + p.Name + " = " + PlanComment.Value(p.Value) + "]")));
            console.WriteLine(PlanComment.Line("session: " + string.Join("; ", session) + ";"));
            var n = 0;
            foreach (var step in result.Steps)
            {
                console.WriteLine();
                // Names in comments go through PlanComment: a saved plan must hold only the statements it shows.
                console.WriteLine(PlanComment.Line($"step {++n} ({IlmDocuments.Kind(step.Action)}): {step.Describe()}" +
                                  (step.Action.RowsRewritten > 0 ? $", ~{step.Action.RowsRewritten:N0} rows rewritten" : "")));
                foreach (var statement in step.Statements) console.WriteLine(IlmDocuments.Sql(statement) + ";");
            }
        }
        Skips(console, plan);
        if (result.Steps.Count > 0)
            console.WriteLine($"-- {result.Steps.Count} action(s), {plan.MergedPartitionCount} partition(s) merged, " +
                              $"~{plan.RowsRewritten:N0} rows rewritten");
    }

    public static void Run(IAnsiConsole console, IlmRunResult result)
    {
        var plan = result.Plan.Plan;
        var only = result.Only is { } keys ? $" (only {string.Join("; ", keys.Select(k => k.Describe()))})" : "";
        if (result.DryRun)
        {
            console.WriteLine(PlanComment.Line(
                $"ilm run --dry-run for {Qualified(plan.Schema, plan.Table)} as of {plan.AsOf:yyyy-MM-dd} " +
                $"({result.Plan.Provider}){only}: nothing was changed"));
            Plan(console, result.Plan, header: false);
            return;
        }
        foreach (var d in result.Reconciled)
            console.WriteLine($"reconciled interrupted merge into {d.TargetPartition}: {d.Outcome} ({d.Message})");
        if (result.Outcomes.Count > 0)
        {
            var table = new Table().Border(TableBorder.Simple);
            foreach (var c in new[] { "#", "Action", "Partition", "Status", "Time", "Rows", "What" })
                table.AddColumn(new TableColumn(c).NoWrap());
            var n = 0;
            foreach (var o in result.Outcomes)
                table.AddRow(Cell(++n), Cell(IlmDocuments.Kind(o.Action)), Cell(o.Action.Partition), Status(o.Status),
                    Cell(Tables.Duration(o.Duration)), Cell(Rows(o)),
                    Cell(o.Error is { } e ? $"{o.Action.Describe()}: {e}" : o.Action.Describe()));
            console.Write(table);
        }
        Skips(console, plan);
        foreach (var a in result.NotStarted) console.WriteLine($"not started (--max-duration reached): {a.Describe()}");
        var verdict = result.Failed > 0 ? "FAILED" : result.StoppedEarly ? "stopped early" : "done";
        console.WriteLine($"ilm run {verdict} for {Qualified(plan.Schema, plan.Table)} as of {plan.AsOf:yyyy-MM-dd}{only}: " +
                          $"{result.Succeeded} succeeded, {result.Failed} failed, {result.RowsMerged:N0} rows merged (counted), " +
                          IlmDocuments.RowsWrittenText(result) +
                          (result.Outcomes.Count == 0 ? " (nothing to do)" : ""));
        if (result.Failed > 0)
            console.WriteLine("Fix the cause and run the same command again: failed merges are retried (MERGE_RETRY_FAILED).");
    }

    /// <summary>The Rows cell of a run: a merge's rows merged in (counted), a move's catalog estimate (~ .. est.).</summary>
    private static string Rows(ActionOutcome o) =>
        o.RowsMerged?.ToString("N0", CultureInfo.InvariantCulture)
        ?? (o.RowsMovedEstimate is { } moved ? $"~{moved.ToString("N0", CultureInfo.InvariantCulture)} (est.)" : "");

    public static void History(IAnsiConsole console, IReadOnlyList<MergeAuditRecord> rows)
    {
        if (rows.Count == 0)
        {
            console.WriteLine("no merges recorded yet");
            return;
        }
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "Id", "Date (UTC)", "Table", "Source", "Target", "Status", "Seconds", "Rows", "Error" })
            table.AddColumn(new TableColumn(c).NoWrap());
        foreach (var r in rows)
            table.AddRow(Cell(r.MergeId), Cell(r.MergeDate?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)),
                Cell(Qualified(r.TableOwner, r.TableName)), Cell(r.SourcePartition), Cell(r.TargetPartition), Status(r.MergeStatus),
                Cell(r.DurationSeconds?.ToString("0.###", CultureInfo.InvariantCulture)),
                Cell(r.RowsMerged?.ToString("N0", CultureInfo.InvariantCulture)), Cell(r.ErrorMessage));
        console.Write(table);
        console.WriteLine($"{rows.Count} merge row(s), newest first");
    }

    public static void Health(IAnsiConsole console, IlmHealthReport report)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "Check", "Kind", "Result", "Value", "Threshold", "Detail" }) table.AddColumn(new TableColumn(c).NoWrap());
        foreach (var c in report.Checks)
            table.AddRow(Cell(c.Name), Cell(c.Kind), new Markup(c.Passed ? "[green]PASS[/]" : "[red]FAIL[/]"),
                Cell(c.Value?.ToString("0.##", CultureInfo.InvariantCulture)),
                Cell(c.Threshold.ToString("0.##", CultureInfo.InvariantCulture)), Cell(c.Message));
        console.Write(table);
        var s = report.Statistics;
        console.WriteLine($"merges in the last {report.Thresholds.WindowDays} days: " +
                          $"{s.TotalMerges} ({s.Succeeded} succeeded, {s.Failed} failed)" +
                          (report.WarmTotal is { } wt ? $"; WARM holds {report.WarmMonthly} monthly of {wt} partitions" : ""));
        var who = report.Table ?? "all tables";
        console.WriteLine(report.Passed
            ? $"ilm health ({who}): PASSED"
            : $"ilm health ({who}): FAILED, {report.Alerts.Count()} alert(s) fired, " +
              $"{report.MissedCriteria.Count()} criterion/criteria missed");
    }

    public static void Summary(IAnsiConsole console, IlmSummary summary) => console.Write(SummaryTable(summary));

    public static Table SummaryTable(IlmSummary summary)
    {
        var table = new Table().Border(TableBorder.Simple).Title(Qualified(summary.Schema, summary.Table));
        foreach (var c in new[] { "Tier", "Tablespace", "Yearly", "Monthly", "Other", "Total", "Rows (est.)" })
            table.AddColumn(new TableColumn(c).NoWrap());
        foreach (var t in summary.Tiers)
            table.AddRow(Cell(t.Tier), Cell(t.Tablespace), Cell(t.Yearly), Cell(t.Monthly), Cell(t.Other), Cell(t.Total),
                Cell(t.Rows.ToString("N0", CultureInfo.InvariantCulture)));
        table.AddRow(Cell("all"), Cell(""), Cell(summary.Tiers.Sum(t => t.Yearly)), Cell(summary.Tiers.Sum(t => t.Monthly)),
            Cell(summary.Tiers.Sum(t => t.Other)), Cell(summary.Tiers.Sum(t => t.Total)),
            Cell(summary.Tiers.Sum(t => t.Rows).ToString("N0", CultureInfo.InvariantCulture)));
        return table;
    }

    public static void Simulation(IAnsiConsole console, PartitionLayout layout, IlmSimulationResult result, string provider)
    {
        console.WriteLine($"ilm simulate {Qualified(layout.Schema, layout.Table)} " +
                          $"from {result.From:yyyy-MM-dd} to {result.To:yyyy-MM-dd}, month by month " +
                          $"(costs as on {provider}; a new HOT month is added as time passes)");
        foreach (var s in result.Strategies)
        {
            var table = new Table().Border(TableBorder.Simple).Title(IlmDocuments.Name(s.Strategy.ToString()));
            foreach (var c in new[] { "As of", "HOT monthly", "WARM yearly", "WARM monthly", "COLD yearly", "COLD monthly", "Moves",
                                      "Merges", "Renames", "Rows rewritten", "Cumulative" })
                table.AddColumn(new TableColumn(c).NoWrap());
            foreach (var m in s.Months)
                table.AddRow(Cell(m.AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), Cell(m.HotMonthly), Cell(m.WarmYearly),
                    Cell(m.WarmMonthly), Cell(m.ColdYearly), Cell(m.ColdMonthly), Cell(m.Moves), Cell(m.Merges), Cell(m.Renames),
                    Cell(m.RowsRewritten.ToString("N0", CultureInfo.InvariantCulture)),
                    Cell(m.CumulativeRowsRewritten.ToString("N0", CultureInfo.InvariantCulture)));
            console.Write(table);
        }
        var compare = new Table().Border(TableBorder.Simple)
            .Title("comparison at " + result.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        foreach (var c in new[] { "Strategy", "HOT monthly", "WARM yearly", "WARM monthly", "COLD yearly", "COLD monthly",
                                  "Merge operations", "Rows rewritten" })
            compare.AddColumn(new TableColumn(c).NoWrap());
        foreach (var s in result.Strategies)
        {
            var f = IlmDocuments.Final(s);
            compare.AddRow(Cell(IlmDocuments.Name(s.Strategy.ToString())), Cell(f.HotMonthly), Cell(f.WarmYearly), Cell(f.WarmMonthly),
                Cell(f.ColdYearly), Cell(f.ColdMonthly), Cell(s.MergeOperations),
                Cell(s.RowsRewritten.ToString("N0", CultureInfo.InvariantCulture)));
        }
        console.Write(compare);
        if (result.Strategies.All(s => s.Methods.Count == 0)) return;
        var methods = new Table().Border(TableBorder.Simple).Title("merge methods (tier_config.merge_method)");
        foreach (var c in new[] { "Strategy", "Method", "Rows rewritten", "Rows aged", "Written per aged row", "Longest exclusive lock" })
            methods.AddColumn(new TableColumn(c));
        foreach (var s in result.Strategies)
            foreach (var m in s.Methods)
                methods.AddRow(Cell(IlmDocuments.Name(s.Strategy.ToString())), Cell(IlmDocuments.MethodName(m.Method)),
                    Cell(m.RowsRewritten.ToString("N0", CultureInfo.InvariantCulture)),
                    Cell(m.AgedRows.ToString("N0", CultureInfo.InvariantCulture)),
                    Cell(m.RowsWrittenPerAgedRow?.ToString("0.00", CultureInfo.InvariantCulture) ?? "-"), Cell(m.LongestExclusiveLock));
        console.Write(methods);
    }

    public static void Config(IAnsiConsole console, IlmConfigSnapshot snapshot)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "Key", "Value", "From", "Description" }) table.AddColumn(new TableColumn(c).NoWrap());
        foreach (var e in snapshot.Entries)
            table.AddRow(Cell(e.Key), Cell(e.Value), Cell(e.IsDefault ? "default" : "table"), Cell(e.Description));
        console.Write(table);
        if (!snapshot.TableExists)
            console.WriteLine("dwh_ilm_config does not exist yet: the spec's defaults apply " +
                              "(`ilm config set` or the first `ilm run` creates it)");
        var c2 = snapshot.Config;
        console.WriteLine($"effective: auto merge {(c2.AutoMergePartitions ? "on" : "off")}, lock timeout {c2.MergeLockTimeoutSeconds}s, " +
                          $"retry failed {(c2.MergeRetryFailed ? "yes" : "no")}, at most {c2.MaxMergesPerRun} merges per run");
    }

    private static void Skips(IAnsiConsole console, IlmPlan plan)
    {
        var skips = plan.Actions.OfType<SkipAction>().ToList();
        if (skips.Count == 0) return;
        console.WriteLine();
        foreach (var s in skips)
            console.WriteLine(PlanComment.Line(
                $"skip {s.PartitionName}: {s.Reason}" + (s.WouldMergeInto is { } into ? $" (would merge into {into})" : "")));
    }

    private static string Qualified(string? schema, string table) => string.IsNullOrEmpty(schema) ? table : $"{schema}.{table}";

    private static IRenderable Status(string status) => new Markup(status switch
    {
        IlmStatus.Success => "[green]SUCCESS[/]",
        IlmStatus.Failed => "[red]FAILED[/]",
        _ => Markup.Escape(status),
    });

    /// <summary>One line per cell: a name with a line break shows it escaped rather than starting a row of its own.</summary>
    private static IRenderable Cell(object? value) => new Text(PlanComment.Safe(value switch
    {
        null => "",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    }));
}
