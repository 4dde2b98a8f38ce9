using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace PartitionOps.Cli.Output;

/// <summary>Human renderings of the engine's results (the JSON renderings are the records themselves).</summary>
internal static class Tables
{
    public static void Run(IAnsiConsole console, BackfillResult result, string verb)
    {
        if (result.ColumnAdded) console.WriteLine("phase 1: partition column added");
        foreach (var index in result.IndexesBuilt) console.WriteLine($"phase 2: {index}");
        if (result.Types.Count > 0) console.Write(TypeTable(result.Types));
        foreach (var skipped in result.SkippedTypes) console.WriteLine($"skipped: {skipped} (another runner holds it)");
        // The rate is phase 3's own (this call's rows over this call's row-moving time), not diluted by index builds.
        var summary = $"{result.RowsUpdated:N0} rows moved, {result.RowsScanned:N0} walked in {result.Batches:N0} batches; " +
                      $"phase 3 {result.RowsPerSecond:N0} rows/s walked over {Duration(result.Phase3Elapsed)}, " +
                      $"{Duration(result.Elapsed)} in all";
        var line = result.Status switch
        {
            BackfillStatus.Done => $"{verb} done (run {result.RunId}): {summary}",
            BackfillStatus.Paused => $"{verb} paused ({result.StopReason ?? "stopped"}) (run {result.RunId}): {summary}. " +
                                     "Run the same command again to resume where it stopped.",
            BackfillStatus.Failed when result.FailedTypes.Count > 0 =>
                $"{verb} failed for {string.Join(", ", result.FailedTypes)} (run {result.RunId}): {result.StopReason}. {summary}. " +
                "Fix the cause and run the same command again: finished work is kept and the failed types are retried.",
            _ => $"{verb} {result.Status} (run {result.RunId}): {result.StopReason}. {summary}. " +
                 "Fix the cause and run the same command again: finished work is kept.",
        };
        console.WriteLine(line);
    }

    public static void Plan(IAnsiConsole console, BackfillPlan plan)
    {
        // Every name in a comment goes through PlanComment: a saved plan must hold only the statements it shows.
        console.WriteLine(PlanComment.Line($"plan for {plan.Table}: nothing was changed"));
        var n = 0;
        foreach (var step in plan.Steps)
        {
            console.WriteLine();
            console.WriteLine(PlanComment.Line($"step {++n}, phase {step.Phase}: {step.Description}"));
            foreach (var statement in step.Statements)
            {
                if (PlanComment.Parameters(statement) is { } parameters) console.WriteLine(parameters);
                console.WriteLine(statement.Text.TrimEnd().TrimEnd(';') + ";");
            }
        }
        if (plan.Types.Count > 0)
        {
            console.WriteLine();
            console.Write(TypeTable(plan.Types));
        }
    }

    public static void Progress(IAnsiConsole console, BackfillProgressReport report)
    {
        console.WriteLine(report.RunId is null
            ? $"{report.Table}: no backfill run yet"
            : $"{report.Table}: run {report.RunId} ({report.Direction}) {report.Status}, started {report.StartedAt:u}" +
              (report.EndedAt is { } ended ? $", ended {ended:u}" : ""));
        if (report.Types.Count > 0) console.Write(TypeTable(report.Types));
        var percent = report.PercentComplete is { } p ? $"{p:0.0}%" : "?";
        var eta = report.Eta is { } e ? JsonOutput.FormatDuration(e) : "?";
        console.WriteLine($"total: {report.RowsScanned:N0} rows walked of ~{report.EstimatedRows?.ToString("N0") ?? "?"}, " +
                          $"{report.RowsUpdated:N0} moved, {percent}, ETA {eta}");
    }

    public static void Integrity(IAnsiConsole console, IntegrityReport report)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "Type", "Id", "Kind", "Expected", "Misplaced", "Written after run", "Missed" }) table.AddColumn(c);
        foreach (var t in report.Types)
            table.AddRow(Cell(t.TypeName), Cell(t.TypeId), Cell(t.IsSystemType ? "system" : "user"), Cell(t.ExpectedValue),
                Cell(t.MisplacedRows.ToString("N0")), Cell(t.WrittenAfterRun.ToString("N0")), Cell(t.MissedRows.ToString("N0")));
        console.Write(table);
        console.WriteLine(report.Summary);
    }

    public static void Prerequisites(IAnsiConsole console, PrerequisiteReport report)
    {
        // PostgreSQL's version() already starts with its name: do not say it twice.
        var server = report.ServerVersion.StartsWith(report.Edition, StringComparison.OrdinalIgnoreCase)
            ? report.ServerVersion : $"{report.Edition} {report.ServerVersion}";
        console.WriteLine($"{report.Table} on {server}");
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "Check", "Result", "Detail" }) table.AddColumn(c);
        foreach (var c in report.Checks)
            table.AddRow(Cell(c.Name), Cell(!c.Passed ? "FAIL" : c.Warning ? "warn" : "ok"), Cell(c.Detail));
        console.Write(table);
        console.WriteLine(report.SampleRowsPerSecond is { } rate
            ? $"sample batch: {rate:N0} rows/s"
              + (report.EstimatedDuration is { } d ? $"; the backfill would take about {Duration(d)}" : "")
            : "sample batch: not taken (it needs the partition column, added by phase 1, and rows of a selected type)");
        console.WriteLine(report.Passed
            ? $"{report.Table}: every check passed"
            : $"{report.Table}: FAILED, {report.Checks.Count(c => !c.Passed)} check(s) failed");
    }

    public static Table TypeTable(IEnumerable<TypeProgress> types)
    {
        var list = types.ToList();
        string? Note(TypeProgress t) =>
            t.LastError ?? t.Waiting ?? (t.ExactRemainingRows is { } left ? $"{left:N0} remaining (exact)" : null);
        var withNote = list.Any(t => Note(t) != null);
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn(new TableColumn("Type").NoWrap());
        foreach (var c in new[] { "Status", "Done %", "Walked", "Estimate", "Moved", "Batches", "Rows/s", "ETA" })
            table.AddColumn(new TableColumn(c).NoWrap());
        if (withNote) table.AddColumn("Note");
        foreach (var t in list)
        {
            var cells = new List<IRenderable>
            {
                Cell(t.TypeName), Cell(t.Status), Cell(t.PercentComplete?.ToString("0.0")), Cell(t.RowsScanned.ToString("N0")),
                Cell(t.ExactTotalRows?.ToString("N0") ?? t.EstimatedRows?.ToString("N0")), Cell(t.RowsUpdated.ToString("N0")),
                Cell(t.Batches.ToString("N0")), Cell(t.RowsPerSecond?.ToString("N0")),
                Cell(t.Eta is { } eta && t.Status != BackfillStatus.Done ? JsonOutput.FormatDuration(eta) : null),
            };
            if (withNote) cells.Add(Cell(Note(t)));
            table.AddRow(cells);
        }
        return table;
    }

    /// <summary>Durations for people: "4.2s" under a minute, else hh:mm:ss.</summary>
    public static string Duration(TimeSpan value) =>
        value < TimeSpan.FromMinutes(1) ? $"{value.TotalSeconds:0.0}s" : JsonOutput.FormatDuration(value);

    /// <summary>One line per cell: a type name with a line break shows it escaped rather than starting a row of its own.</summary>
    private static IRenderable Cell(object? value) => new Text(PlanComment.Safe(value?.ToString()));
}
