using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Providers.Oracle;

/// <summary>
/// Reads ALL_TAB_PARTITIONS.HIGH_VALUE (a LONG holding the bound's SQL text) or 23ai's HIGH_VALUE_JSON
/// as a date. Forms seen in the catalog:
/// <c>TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')</c>,
/// <c>TIMESTAMP' 2023-11-01 00:00:00'</c> (with a zone for TIMESTAMP WITH TIME ZONE keys: the local
/// date and time are taken), <c>DATE '2023-11-01'</c> and <c>MAXVALUE</c>.
/// </summary>
public static partial class OracleHighValue
{
    // The leading blank in ' 2023-...' is the sign position of the SYYYY mask; a '-' there is BC.
    [GeneratedRegex(@"^\s*(?:TO_DATE\s*\(\s*|TIMESTAMP\s*|DATE\s*)'\s*(?<date>\d{4}-\d{2}-\d{2})(?:[ T](?<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?)?(?:\s*(?:[+-]\d{1,2}:\d{2}|[A-Za-z_/]+))?\s*'",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DateLiteral();

    [GeneratedRegex(@"^(?<date>\d{4}-\d{2}-\d{2})(?:[ T](?<time>\d{2}:\d{2}:\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$", RegexOptions.CultureInvariant)]
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
    /// HIGH_VALUE_JSON (Oracle 23ai) holds the bound as JSON; we accept any JSON whose first scalar is
    /// an ISO date or "MAXVALUE", so the exact nesting of the document does not matter.
    /// </summary>
    private static bool TryParseJson(string json, out DateTime? upperBound)
    {
        upperBound = null;
        try
        {
            using var document = JsonDocument.Parse(json);
            var scalar = FirstScalar(document.RootElement);
            if (scalar is null) return false;
            if (scalar.Equals("MAXVALUE", StringComparison.OrdinalIgnoreCase)) return true;
            var m = IsoDate().Match(scalar);
            return m.Success && TryCombine(m, out upperBound);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? FirstScalar(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String: return e.GetString();
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray()) if (FirstScalar(item) is { } s) return s;
                return null;
            case JsonValueKind.Object:
                foreach (var property in e.EnumerateObject()) if (FirstScalar(property.Value) is { } s) return s;
                return null;
            default: return null;
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
