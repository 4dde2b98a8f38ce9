using System.Text.Json;

namespace PartitionOps.Engine.Validation;

/// <summary>
/// The keys a JSON object of one of our files (policy, profile, layout) may hold. A key outside the set is bad input
/// naming it and the nearest known key ("did you mean age_months?"), so a typo never silently falls back to a default.
/// Adding a key to a file format is one entry in its set.
/// </summary>
public sealed class KnownKeys
{
    private readonly HashSet<string> _keys;

    public KnownKeys(IEnumerable<string> keys, bool ignoreCase = false) =>
        _keys = new HashSet<string>(keys, ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    public IReadOnlyCollection<string> Keys => _keys;

    public bool Contains(string key) => _keys.Contains(key);

    /// <summary>
    /// Throws <see cref="InvalidRequestException"/> for the first key of <paramref name="obj"/> not in the set, or seen twice.
    /// <paramref name="path"/> is the object's place in the file ("tier_config.hot"), empty at the top.
    /// </summary>
    public void Check(JsonElement obj, string parameter, string path)
    {
        var seen = new HashSet<string>(_keys.Comparer);
        foreach (var property in obj.EnumerateObject())
        {
            var field = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            if (!_keys.Contains(property.Name))
            {
                var nearest = Nearest(property.Name);
                throw new InvalidRequestException(parameter, "key", field,
                    "is not a known key" + (nearest is null
                        ? $" (known: {string.Join(", ", _keys.Order(StringComparer.Ordinal))})"
                        : $": did you mean {nearest}?"));
            }
            if (!seen.Add(property.Name)) throw new InvalidRequestException(parameter, "key", field, "is given twice");
        }
    }

    /// <summary>
    /// The known key closest to <paramref name="key"/> (edit distance, ignoring case), when it is close enough to be a typo.
    /// </summary>
    public string? Nearest(string key)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var known in _keys.Order(StringComparer.Ordinal))
        {
            var d = Distance(key.ToLowerInvariant(), known.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (known, d);
        }
        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}

/// <summary>Reads a JSON file for validation: comments and trailing commas allowed, as in the spec's template.</summary>
public static class JsonFile
{
    public static JsonDocument Parse(string json, string parameter, string source)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException(parameter, source,
                $"is not valid JSON (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})");
        }
    }

    /// <summary>
    /// A deserializer's type error as bad input naming the field and what it should hold, without the raw exception text.
    /// </summary>
    public static InvalidRequestException TypeError(JsonException e, string parameter, string source)
    {
        var field = (e.Path ?? "").TrimStart('$').TrimStart('.');
        return field.Length == 0
            ? new InvalidRequestException(parameter, source, "lacks a required key or holds a value of the wrong type")
            : new InvalidRequestException(parameter, field, source, "holds a value of the wrong type or out of range for this field");
    }
}
