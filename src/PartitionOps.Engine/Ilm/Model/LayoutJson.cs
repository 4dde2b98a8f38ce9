using System.Text.Json;
using System.Text.Json.Serialization;

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

    /// <summary>Parses layout JSON; <paramref name="source"/> names the file in error messages.</summary>
    public static PartitionLayout Deserialize(string json, string source = "layout")
    {
        PartitionLayout? layout;
        try
        {
            layout = JsonSerializer.Deserialize<PartitionLayout>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException("--layout", source, $"is not valid layout JSON: {e.Message}");
        }
        if (layout is null)
            throw new InvalidRequestException("--layout", source, "is empty: expected a layout object with table and partitions");
        if (string.IsNullOrWhiteSpace(layout.Table))
            throw new InvalidRequestException("--layout", source, "has no table name");
        if (layout.Partitions is null || layout.Partitions.Count == 0)
            throw new InvalidRequestException("--layout", source, "lists no partitions");
        foreach (var p in layout.Partitions)
        {
            if (string.IsNullOrWhiteSpace(p.Name))
                throw new InvalidRequestException("--layout", source, "has a partition without a name");
            if (p.LowerBound is { } lo && p.UpperBound is { } up && lo >= up)
                throw new InvalidRequestException("--layout", source, $"has partition {p.Name} whose lower bound is not below its upper bound");
        }
        var duplicate = layout.Partitions.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null)
            throw new InvalidRequestException("--layout", source, $"lists partition {duplicate.Key} twice");
        return layout;
    }

    public static PartitionLayout Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidRequestException("--layout", path, "does not exist");
        return Deserialize(File.ReadAllText(path), path);
    }

    public static void Save(PartitionLayout layout, string path) => File.WriteAllText(path, Serialize(layout));
}
