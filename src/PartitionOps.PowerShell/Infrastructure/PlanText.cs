using System.Globalization;
using System.Text;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Infrastructure;

/// <summary>The -WhatIf / -Confirm text of a plan: the exact SQL, with parameter values as comments.</summary>
public static class PlanText
{
    public static string Sql(IReadOnlyList<SqlStatement> plan)
    {
        var text = new StringBuilder();
        foreach (var statement in plan)
        {
            if (text.Length > 0) text.AppendLine();
            text.AppendLine(statement.Text.TrimEnd());
            foreach (var p in statement.Parameters)
                text.AppendLine(PlanComment.Line($"{p.Name} = {Format(p.Value)}"));
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>What -WhatIf prints after "What if: ".</summary>
    public static string Describe(string target, string operation, IReadOnlyList<SqlStatement> plan) =>
        plan.Count == 0
            ? $"Performing the operation \"{operation}\" on target \"{target}\": nothing to do."
            : $"Performing the operation \"{operation}\" on target \"{target}\" with this SQL:{Environment.NewLine}{Sql(plan)}";

    /// <summary>What -Confirm asks.</summary>
    public static string ConfirmQuestion(string target, string operation, IReadOnlyList<SqlStatement> plan) =>
        plan.Count == 0 ? $"{operation} on {target}?" : $"{operation} on {target}?{Environment.NewLine}{Sql(plan)}";

    private static string Format(object? value) => value switch
    {
        null => "NULL",
        string s => "'" + s.Replace("'", "''") + "'",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
