using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Infrastructure;

/// <summary>
/// The -WhatIf / -Confirm text of a plan: first what will happen (the summary lines the cmdlet gives: phases, types,
/// tables, the statement count), then the SQL with parameter values as comments. A plan that repeats one statement
/// per partition shows the first <see cref="SameShapeShown"/> of each kind and counts the rest; -Verbose prints every
/// statement (<see cref="Sql"/>).
/// </summary>
public static partial class PlanText
{
    /// <summary>How many statements of one shape (the same text but for names and numbers) -WhatIf shows.</summary>
    public const int SameShapeShown = 2;

    /// <summary>Every statement, in full.</summary>
    public static string Sql(IReadOnlyList<SqlStatement> plan)
    {
        var text = new StringBuilder();
        foreach (var statement in plan) AppendStatement(text, statement);
        return text.ToString().TrimEnd();
    }

    /// <summary>The SQL with repeats shortened: after two statements of one shape, the rest are counted in a comment.</summary>
    public static string ShortSql(IReadOnlyList<SqlStatement> plan)
    {
        var text = new StringBuilder();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var elided = 0;
        void FlushElided()
        {
            if (elided == 0) return;
            if (text.Length > 0) text.AppendLine();
            text.Append("-- ").Append(elided.ToString("N0", CultureInfo.InvariantCulture))
                .AppendLine(elided == 1
                    ? " more statement like the ones above (-Verbose prints it)"
                    : " more statements like the ones above (-Verbose prints them)");
            elided = 0;
        }
        foreach (var statement in plan)
        {
            var shape = Shape(statement.Text);
            seen[shape] = seen.GetValueOrDefault(shape) + 1;
            if (seen[shape] > SameShapeShown)
            {
                elided++;
                continue;
            }
            FlushElided();
            AppendStatement(text, statement);
        }
        FlushElided();
        return text.ToString().TrimEnd();
    }

    /// <summary>True when <see cref="ShortSql"/> leaves statements out, so -Verbose has more to say.</summary>
    public static bool IsShortened(IReadOnlyList<SqlStatement> plan) =>
        plan.GroupBy(s => Shape(s.Text)).Any(g => g.Count() > SameShapeShown);

    /// <summary>What -WhatIf prints after "What if: ".</summary>
    public static string Describe(
        string target, string operation, IReadOnlyList<SqlStatement> plan, IReadOnlyList<string>? summary = null) =>
        plan.Count == 0
            ? $"Performing the operation \"{operation}\" on target \"{target}\": nothing to do."
            : $"Performing the operation \"{operation}\" on target \"{target}\":{Environment.NewLine}{Overview(plan, summary)}";

    /// <summary>What -Confirm asks.</summary>
    public static string ConfirmQuestion(
        string target, string operation, IReadOnlyList<SqlStatement> plan, IReadOnlyList<string>? summary = null) =>
        plan.Count == 0 ? $"{operation} on {target}?" : $"{operation} on {target}?{Environment.NewLine}{Overview(plan, summary)}";

    private static string Overview(IReadOnlyList<SqlStatement> plan, IReadOnlyList<string>? summary)
    {
        var text = new StringBuilder();
        foreach (var line in summary ?? []) text.Append("  ").AppendLine(line);
        var count = plan.Count.ToString("N0", CultureInfo.InvariantCulture);
        text.AppendLine(IsShortened(plan)
            ? $"{count} SQL statements; repeated ones are counted, not shown (-Verbose prints every statement):"
            : $"{count} SQL statement{(plan.Count == 1 ? "" : "s")}:");
        text.Append(ShortSql(plan));
        return text.ToString();
    }

    private static void AppendStatement(StringBuilder text, SqlStatement statement)
    {
        if (text.Length > 0) text.AppendLine();
        text.AppendLine(statement.Text.TrimEnd());
        foreach (var p in statement.Parameters)
            text.AppendLine(PlanComment.Line($"{p.Name} = {PlanComment.Value(p.Value)}"));
    }

    /// <summary>The statement with quoted names, string literals and numbers blanked: per-partition repeats share it.</summary>
    private static string Shape(string sql) => Names().Replace(sql, "?");

    [GeneratedRegex("\"[^\"]*\"|\\[[^\\]]*\\]|'[^']*'|\\b[A-Za-z_]*\\d+[A-Za-z_\\d]*\\b")]
    private static partial Regex Names();

}
