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
}
