using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Providers.Oracle;

/// <summary>
/// Reads ALL_TAB_PARTITIONS.HIGH_VALUE (a LONG holding the bound's SQL text; 23ai's HIGH_VALUE_CLOB holds the same
/// text) or 23ai's HIGH_VALUE_JSON (<see cref="TryParseJson"/>) as a date. Forms seen in the catalog:
/// <c>TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')</c>,
/// <c>TIMESTAMP' 2023-11-01 00:00:00'</c> (with a zone for TIMESTAMP WITH TIME ZONE keys: the local
/// date and time are taken), <c>DATE '2023-11-01'</c> and <c>MAXVALUE</c>.
/// </summary>
public static partial class OracleHighValue
{
    // The leading blank in ' 2023-...' is the sign position of the SYYYY mask; a '-' there is BC.
    [GeneratedRegex(@"^\s*(?:TO_DATE\s*\(\s*|TIMESTAMP\s*|DATE\s*)'\s*(?<date>\d{4}-\d{2}-\d{2})" +
        @"(?:[ T](?<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?)?(?:\s*(?:[+-]\d{1,2}:\d{2}|[A-Za-z_/]+))?\s*'",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DateLiteral();

    [GeneratedRegex(@"^(?<date>\d{4}-\d{2}-\d{2})(?:[ T](?<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$",
        RegexOptions.CultureInvariant)]
    private static partial Regex IsoDate();

    /// <summary>True when the text is a date bound; <paramref name="upperBound"/> is null for MAXVALUE.</summary>
    public static bool TryParse(string? text, out DateTime? upperBound)
    {
        upperBound = null;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var trimmed = text.Trim();
        if (trimmed.Equals("MAXVALUE", StringComparison.OrdinalIgnoreCase)) return true;
        if (trimmed.StartsWith('{') || trimmed.StartsWith('[')) return TryParseJson(trimmed, out upperBound);
        var m = DateLiteral().Match(trimmed);
        return m.Success && TryCombine(m, out upperBound);
    }

    public static DateTime? Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"HIGH_VALUE '{text}' is not a date bound or MAXVALUE");

    /// <summary>
    /// HIGH_VALUE_JSON (Oracle 23ai+), serialized with JSON_SERIALIZE: an object whose "high_value" member holds the
    /// bound, e.g. <c>{"high_value":100}</c> for a NUMBER key
    /// (https://dbaora.com/high_value_clob-high_value_json-for-partitioning-in-oracle-database-23c/,
    /// https://oracle-base.com/articles/23c/enhanced-partitioning-metadata-23c). A DATE or TIMESTAMP bound is a JSON
    /// scalar that JSON_SERIALIZE writes as an ISO 8601 string
    /// (https://docs.oracle.com/en/database/oracle/oracle-database/23/sqlrf/JSON_SERIALIZE.html);
    /// MAXVALUE is the string "MAXVALUE". Any other shape (a number, an array for a multi-column key) is not a date
    /// bound: false, and the catalog falls back to the bound's SQL text (HIGH_VALUE_CLOB).
    /// </summary>
    public static bool TryParseJson(string json, out DateTime? upperBound)
    {
        upperBound = null;
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return false;
            JsonElement? bound = null;
            foreach (var property in document.RootElement.EnumerateObject())
                if (property.Name.Equals("high_value", StringComparison.OrdinalIgnoreCase)) bound = property.Value;
            if (bound is not { ValueKind: JsonValueKind.String } value) return false;
            var text = value.GetString()!.Trim();
            if (text.Equals("MAXVALUE", StringComparison.OrdinalIgnoreCase)) return true;
            var m = IsoDate().Match(text);
            return m.Success && TryCombine(m, out upperBound);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryCombine(Match m, out DateTime? value)
    {
        value = null;
        var text = m.Groups["date"].Value + " " + (m.Groups["time"].Success ? m.Groups["time"].Value : "00:00:00");
        if (!DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            return false;
        value = parsed;
        return true;
    }
}
