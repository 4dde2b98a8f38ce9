namespace PartitionOps.Engine.Providers;

/// <summary>
/// Text that goes into a comment of a saved plan (step descriptions, skip reasons, parameter values) or a line of a
/// table. Names come from catalogs and files and may hold anything a quoted identifier can: a line break would end a
/// "--" comment and put the rest of the name on a line of its own, where psql or sqlcmd runs it as SQL; "*/" would end a
/// block comment. Line breaks and control characters become visible escapes (\n), and comment delimiters are split, so
/// the text stays inside its comment.
/// </summary>
public static class PlanComment
{
    public static string Safe(string? text) =>
        InvalidRequestException.Escape(text ?? "")
            .Replace("*/", "*\\/", StringComparison.Ordinal)
            .Replace("/*", "/\\*", StringComparison.Ordinal);

    /// <summary>A "-- " comment line; <paramref name="text"/> made <see cref="Safe"/>.</summary>
    public static string Line(string text) => "-- " + Safe(text);

    /// <summary>
    /// The comment line a plan shows above a statement with parameters ("-- parameters: sources = {p_1, p_2}"), or null.
    /// Above, never after: a comment after the text would also swallow the ";" that ends the statement in a saved plan.
    /// </summary>
    public static string? Parameters(SqlStatement statement) => statement.Parameters.Count == 0
        ? null
        : Line("parameters: " + string.Join(", ", statement.Parameters.Select(p => $"{p.Name} = {Value(p.Value)}")));

    /// <summary>A parameter's value as a plan shows it: strings quoted, numbers invariant, arrays in braces.</summary>
    public static string Value(object? value) => value switch
    {
        null or DBNull => "NULL",
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        System.Collections.IEnumerable items => "{" + string.Join(", ", items.Cast<object?>().Select(Value)) + "}",
        _ => value.ToString() ?? "",
    };
}
