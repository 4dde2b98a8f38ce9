using System.Text.Json;
using System.Text.Json.Serialization;
using PartitionOps.Engine.Validation;

namespace PartitionOps.Engine.Ilm.Model;

/// <summary>
/// The layout file written by <c>ilm snapshot</c> and read by <c>--layout FILE</c>: snake_case JSON,
/// dates as ISO 8601 (2023-11-01T00:00:00), MAXVALUE as a null upper_bound.
/// </summary>
public static class LayoutJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string Serialize(PartitionLayout layout) => JsonSerializer.Serialize(layout, Options);

    private const string L = nameof(IlmPlanRequest.Layout);

    /// <summary>Keys of the layout file and of each partition: the records' properties in snake_case.</summary>
    public static readonly KnownKeys LayoutKeys = KeysOf(typeof(PartitionLayout));
    public static readonly KnownKeys PartitionKeys = KeysOf(typeof(PartitionInfo));

    private static KnownKeys KeysOf(Type type) => new(
        // Every property the writer writes (read-only ones such as is_max_value too), so a snapshot always reads back.
        type.GetProperties().Where(p => !p.IsDefined(typeof(JsonIgnoreAttribute), true))
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)), ignoreCase: true);

    /// <summary>
    /// Parses layout JSON and checks it: known keys only, a table, named partitions (each once), bounds in order and
    /// no two partitions covering the same dates. <paramref name="source"/> names the file in error messages.
    /// </summary>
    public static PartitionLayout Deserialize(string json, string source = "layout")
    {
        using (var document = JsonFile.Parse(json, L, source))
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidRequestException(L, source, "must be a layout object with table and partitions");
            Keys(LayoutKeys, root, "", source);
            if (root.TryGetProperty("partitions", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object) Keys(PartitionKeys, item, $"partitions[{i}]", source);
                    i++;
                }
            }
        }
        PartitionLayout? layout;
        try
        {
            layout = JsonSerializer.Deserialize<PartitionLayout>(json, Options);
        }
        catch (JsonException e)
        {
            throw JsonFile.TypeError(e, L, source);
        }
        if (layout is null)
            throw new InvalidRequestException(L, source, "is empty: expected a layout object with table and partitions");
        if (string.IsNullOrWhiteSpace(layout.Table))
            throw new InvalidRequestException(L, source, "has no table name");
        if (layout.Partitions is null || layout.Partitions.Count == 0)
            throw new InvalidRequestException(L, source, "lists no partitions");
        foreach (var p in layout.Partitions)
        {
            if (string.IsNullOrWhiteSpace(p.Name))
                throw new InvalidRequestException(L, $"{source}: partition", "", "has no name");
            if (p.LowerBound is { } lo && p.UpperBound is { } up && lo >= up)
                throw new InvalidRequestException(L, $"{source}: partition", p.Name, "has a lower bound that is not below its upper bound");
            if (p.RowEstimate is < 0)
                throw new InvalidRequestException(L, $"{source}: partition {InvalidRequestException.ShowValue(p.Name)} row_estimate",
                    p.RowEstimate, "must be 0 or more");
        }
        var duplicate = layout.Partitions.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null)
            throw new InvalidRequestException(L, $"{source}: partition", duplicate.Key, "is listed twice");
        if (layout.Partitions.Count(p => p.UpperBound is null) > 1)
            throw new InvalidRequestException(L, $"{source}: partition", layout.Partitions.Last(p => p.UpperBound is null).Name,
                "is a second MAXVALUE partition: only one partition can hold the values above every bound");
        var ordered = layout.InBoundOrder();
        for (var i = 1; i < ordered.Count; i++)
        {
            var (previous, current) = (ordered[i - 1], ordered[i]);
            if (previous.UpperBound is { } end && current.LowerBound is { } start && start < end)
                throw new InvalidRequestException(L, $"{source}: partition", current.Name,
                    $"overlaps partition {InvalidRequestException.ShowValue(previous.Name)}: " +
                    $"it starts {start:yyyy-MM-dd}, before that one ends " +
                    $"{end:yyyy-MM-dd} (range partitions never overlap)");
            if (previous.UpperBound == current.UpperBound)
                throw new InvalidRequestException(L, $"{source}: partition", current.Name,
                    $"has the same upper bound as partition {InvalidRequestException.ShowValue(previous.Name)}");
        }
        return layout;
    }

    private static void Keys(KnownKeys keys, JsonElement obj, string path, string source)
    {
        try { keys.Check(obj, L, path); }
        catch (InvalidRequestException e) { throw new InvalidRequestException(L, $"{source}: {e.Field}", e.Value, e.Problem); }
    }

    public static PartitionLayout Load(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidRequestException(L, path ?? "",
            "is empty: give a layout file from a snapshot of the table");
        if (Directory.Exists(path)) throw new InvalidRequestException(L, path, "is a folder, not a layout file");
        if (!File.Exists(path)) throw new InvalidRequestException(L, path, "does not exist");
        return Deserialize(File.ReadAllText(path), path);
    }

    public static void Save(PartitionLayout layout, string path) => File.WriteAllText(path, Serialize(layout));
}
