using System.Text;

namespace PartitionOps.IntegrationTests.Infrastructure;

/// <summary>
/// Splits a script into the statements psql would run, the way PostgreSQL's lexer reads it
/// (https://www.postgresql.org/docs/current/sql-syntax-lexical.html): "--" comments to the end of the line, nested
/// "/* */" comments, '...' strings (E'...' with backslash escapes), "..." identifiers and $tag$...$tag$ bodies; a ";"
/// outside all of them ends a statement. Comments are dropped and whitespace runs become one space.
/// </summary>
internal static class PostgresScript
{
    public static IReadOnlyList<string> Statements(string script)
    {
        var statements = new List<string>();
        var current = new StringBuilder();
        var i = 0;
        while (i < script.Length)
        {
            var c = script[i];
            var next = i + 1 < script.Length ? script[i + 1] : '\0';
            if (c == '-' && next == '-')
            {
                while (i < script.Length && script[i] != '\n') i++;
                current.Append(' ');
            }
            else if (c == '/' && next == '*')
            {
                var depth = 0;
                do
                {
                    if (script[i] == '/' && i + 1 < script.Length && script[i + 1] == '*') { depth++; i += 2; }
                    else if (script[i] == '*' && i + 1 < script.Length && script[i + 1] == '/') { depth--; i += 2; }
                    else i++;
                } while (depth > 0 && i < script.Length);
                if (depth > 0) throw new FormatException("unterminated block comment");
                current.Append(' ');
            }
            else if (c == '\'' || c == '"')
            {
                var escapes = c == '\'' && i > 0 && (script[i - 1] == 'E' || script[i - 1] == 'e');
                var start = i++;
                while (true)
                {
                    if (i >= script.Length) throw new FormatException($"unterminated {(c == '"' ? "identifier" : "string")}");
                    if (escapes && script[i] == '\\') { i += 2; continue; }
                    if (script[i] == c)
                    {
                        if (i + 1 < script.Length && script[i + 1] == c) { i += 2; continue; }
                        i++;
                        break;
                    }
                    i++;
                }
                current.Append(script, start, i - start);
            }
            else if (c == '$' && DollarTag(script, i) is { } tag)
            {
                var end = script.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                if (end < 0) throw new FormatException("unterminated dollar-quoted string");
                current.Append(script, i, end + tag.Length - i);
                i = end + tag.Length;
            }
            else if (c == ';')
            {
                Add(statements, current);
                i++;
            }
            else
            {
                current.Append(char.IsWhiteSpace(c) ? ' ' : c);
                i++;
            }
        }
        Add(statements, current);
        return statements;
    }

    /// <summary>Whitespace runs outside quotes as one space, so a statement compares with the text the plan meant.</summary>
    public static string Normalize(string statement) => Statements(statement + ";").Single();

    private static void Add(List<string> statements, StringBuilder current)
    {
        var text = System.Text.RegularExpressions.Regex.Replace(current.ToString(), @" {2,}", " ").Trim();
        if (text.Length > 0) statements.Add(text);
        current.Clear();
    }

    private static string? DollarTag(string script, int i)
    {
        var end = i + 1;
        while (end < script.Length && (char.IsLetterOrDigit(script[end]) || script[end] == '_')) end++;
        return end < script.Length && script[end] == '$' ? script[i..(end + 1)] : null;
    }
}
