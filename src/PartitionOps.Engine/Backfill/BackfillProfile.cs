using System.Text.Json;
using System.Text.Json.Serialization;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// What to backfill: the table, its type lookup, its key, the partition column and which types are
/// "system". The default is the FHIR server's Resource table (DESIGN §4); a JSON file can name another.
/// </summary>
public sealed record BackfillProfile
{
    public static readonly IReadOnlyList<string> FhirSystemTypes =
    [
        "SearchParameter", "OperationDefinition", "StructureDefinition", "ValueSet", "CodeSystem",
        "CapabilityStatement", "CompartmentDefinition",
    ];

    public static readonly BackfillProfile Fhir = new();

    public string Name { get; init; } = "fhir";

    /// <summary>Schema of the table and the lookup; null means the provider's default (dbo / public).</summary>
    public string? Schema { get; init; }

    public string Table { get; init; } = "Resource";
    public string LookupTable { get; init; } = "ResourceType";
    public string LookupIdColumn { get; init; } = "ResourceTypeId";
    public string LookupNameColumn { get; init; } = "Name";

    /// <summary>The type column in the table (leading key column, FHIR's partitioning column).</summary>
    public string TypeColumn { get; init; } = "ResourceTypeId";

    /// <summary>The integer key walked in ranges within a type.</summary>
    public string KeyColumn { get; init; } = "ResourceSurrogateId";

    public string PartitionColumn { get; init; } = "PartitionId";

    /// <summary>smallint, int or bigint.</summary>
    public string PartitionColumnType { get; init; } = "smallint";

    public int DefaultValue { get; init; } = 2;
    public int SystemValue { get; init; } = 1;
    public IReadOnlyList<string> SystemTypes { get; init; } = FhirSystemTypes;

    /// <summary>Key columns of the two filtered unique indexes.</summary>
    public IReadOnlyList<string> IndexColumns { get; init; } = ["ResourceTypeId", "ResourceId", "Version"];

    public string SystemIndexName { get; init; } = "IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version";
    public string DefaultIndexName { get; init; } = "IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_Version";

    private static readonly string[] ColumnTypes = ["smallint", "int", "integer", "bigint"];

    /// <summary>Throws <see cref="InvalidRequestException"/> naming the first bad value.</summary>
    public BackfillProfile Validated()
    {
        if (Schema != null) Identifier.Validate(Schema, "profile schema");
        Identifier.Validate(Table, "profile table");
        Identifier.Validate(LookupTable, "profile lookup_table");
        Identifier.Validate(LookupIdColumn, "profile lookup_id_column");
        Identifier.Validate(LookupNameColumn, "profile lookup_name_column");
        Identifier.Validate(TypeColumn, "profile type_column");
        Identifier.Validate(KeyColumn, "profile key_column");
        Identifier.Validate(PartitionColumn, "profile partition_column");
        Identifier.Validate(SystemIndexName, "profile system_index_name");
        Identifier.Validate(DefaultIndexName, "profile default_index_name");
        foreach (var c in IndexColumns) Identifier.Validate(c, "profile index_columns");
        if (IndexColumns.Count == 0) throw new InvalidRequestException("profile index_columns", "[]", "is empty");
        if (!ColumnTypes.Contains(PartitionColumnType, StringComparer.OrdinalIgnoreCase))
            throw new InvalidRequestException("profile partition_column_type", PartitionColumnType, "is not one of smallint, int, bigint");
        if (DefaultValue == SystemValue)
            throw new InvalidRequestException("profile system_value", SystemValue, "equals default_value: the two partitions must differ");
        if (SystemTypes.Count == 0) throw new InvalidRequestException("profile system_types", "[]", "is empty");
        foreach (var t in SystemTypes)
            if (string.IsNullOrWhiteSpace(t) || t.Length > 128)
                throw new InvalidRequestException("profile system_types", t, "is not a type name");
        if (SystemIndexName == DefaultIndexName)
            throw new InvalidRequestException("profile default_index_name", DefaultIndexName, "equals system_index_name");
        return this;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };

    /// <summary>"fhir" (or null/empty) for the built-in profile, else a JSON file of the same shape (snake_case).</summary>
    public static BackfillProfile Load(string? fhirOrPath)
    {
        if (string.IsNullOrWhiteSpace(fhirOrPath) || fhirOrPath.Equals("fhir", StringComparison.OrdinalIgnoreCase))
            return Fhir;
        if (!File.Exists(fhirOrPath))
            throw new InvalidRequestException("--profile", fhirOrPath, "is neither 'fhir' nor an existing profile file");
        return Parse(File.ReadAllText(fhirOrPath), fhirOrPath);
    }

    public static BackfillProfile Parse(string json, string source = "profile")
    {
        BackfillProfile? profile;
        try { profile = JsonSerializer.Deserialize<BackfillProfile>(json, JsonOptions); }
        catch (JsonException e)
        {
            throw new InvalidRequestException("--profile", source, $"is not a valid profile: {e.Message}");
        }
        return (profile ?? throw new InvalidRequestException("--profile", source, "is empty")).Validated();
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
