using System.Globalization;
using System.Text;

namespace PartitionOps.Engine;

/// <summary>
/// Bad input: a name, value or option that cannot be accepted. Raised before anything is changed,
/// so front ends map it to exit code 2 / ErrorCategory.InvalidArgument.
/// </summary>
public sealed class InvalidRequestException : Exception
{
    public InvalidRequestException(string parameter, object? value, string problem)
        : this(parameter, null, value, problem)
    {
    }

    /// <summary>A bad field of a file (a policy, profile or layout): "--policy hot.age_month '3' is not a known key".</summary>
    public InvalidRequestException(string parameter, string? field, object? value, string problem)
        : base(field is null ? $"{parameter} {ShowValue(value)} {problem}" : $"{parameter} {field} {ShowValue(value)} {problem}")
    {
        Parameter = parameter;
        Field = field;
        Value = value;
        Problem = problem;
    }

    /// <summary>
    /// The request property that carried the bad value, by its engine name (<c>nameof(BackfillRequest.BatchSize)</c>):
    /// the key each front end maps to its own parameter name (CLI "--batch-size", PowerShell "-BatchSize").
    /// Front-end code that checks its own input may use its own name directly.
    /// </summary>
    public string Parameter { get; }

    /// <summary>The field of the file the parameter names (e.g. "hot.age_months" of --policy), or null.</summary>
    public string? Field { get; }

    public object? Value { get; }

    /// <summary>What is wrong with the value, without the parameter and value ("must be positive"), so a
    /// front end can name its own parameter without taking the message apart.</summary>
    public string Problem { get; }

    /// <summary>The same error under another parameter name (a front end's own name for the key).</summary>
    public InvalidRequestException Renamed(string parameter) => new(parameter, Field, Value, Problem);

    /// <summary>
    /// The value as messages show it: quoted, with line breaks and other control characters escaped (\n, \u0000),
    /// so a value can never start a new line in a log, a terminal or a saved plan.
    /// </summary>
    public static string ShowValue(object? value) => "'" + Escape(value switch
    {
        null => "",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    }) + "'";

    /// <summary>Control and line-separator characters as C-style escapes; everything else as it is.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when NeedsEscape(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085' or '\u200e' or '\u200f' or '\u202a' or '\u202b' or '\u202c'
            or '\u202d' or '\u202e' or '\u2066' or '\u2067' or '\u2068' or '\u2069';
}

/// <summary>An operation that was valid but failed (exit code 1).</summary>
public class PartitionOpsException : Exception
{
    public PartitionOpsException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The server could not be reached or refused the login (exit code 1, ErrorCategory.ConnectionError).</summary>
public sealed class ConnectionFailedException : PartitionOpsException
{
    public ConnectionFailedException(string message, Exception? inner = null) : base(message, inner) { }
}
