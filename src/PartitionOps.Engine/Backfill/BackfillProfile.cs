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

    /// <summary>
    /// The index set of Microsoft's lightweight-partitioning prototype (ADR 2509, a microsoft/fhir-server branch): the
    /// spec's two, plus (ResourceTypeId, ResourceId) INCLUDE (Version, IsDeleted) WHERE PartitionId = n AND IsHistory = 0
    /// for each partition. "--profile fhir-prototype"; module/Profiles/fhir-prototype.json is the same as a file.
    /// The names of the two extra indexes are ours (the prototype's own names were not checked).
    /// </summary>
    public static readonly BackfillProfile FhirPrototype = new()
    {
        Name = "fhir-prototype",
        Indexes =
        [
            new() { Name = Fhir.SystemIndexName, Partition = "system", Columns = Fhir.IndexColumns },
            new() { Name = Fhir.DefaultIndexName, Partition = "default", Columns = Fhir.IndexColumns },
            new()
            {
                Name = "IX_Resource_SystemPartition_ResourceTypeId_ResourceId", Partition = "system",
                Columns = ["ResourceTypeId", "ResourceId"], Include = ["Version", "IsDeleted"],
                Where = ProfileIndex.Conditions(("IsHistory", false)),
            },
            new()
            {
                Name = "IX_Resource_DefaultPartition_ResourceTypeId_ResourceId", Partition = "default",
                Columns = ["ResourceTypeId", "ResourceId"], Include = ["Version", "IsDeleted"],
                Where = ProfileIndex.Conditions(("IsHistory", false)),
            },
        ],
    };

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

    /// <summary>
    /// Every filtered index of phase 2, when the profile names them; null: the two of <see cref="IndexColumns"/>,
    /// <see cref="SystemIndexName"/> and <see cref="DefaultIndexName"/> (the spec's). When given, those three are not used.
    /// </summary>
    public IReadOnlyList<ProfileIndex>? Indexes { get; init; }

    /// <summary>The filtered indexes phase 2 builds, in the profile's order.</summary>
    public IReadOnlyList<FilteredIndex> FilteredIndexes() => Indexes is null
        ? [new(SystemIndexName, IndexColumns, SystemValue), new(DefaultIndexName, IndexColumns, DefaultValue)]
        : Indexes.Select(i => i.ToFilteredIndex(this)).ToList();

    /// <summary>Every column an index names (key, include, extra predicate), for the catalog check.</summary>
    public IEnumerable<(string Column, string Field)> IndexedColumns() => Indexes is null
        ? IndexColumns.Select(c => (c, "profile index_columns"))
        : Indexes.SelectMany((x, n) => x.Columns.Select(c => (c, $"profile indexes[{n}].columns"))
            .Concat((x.Include ?? []).Select(c => (c, $"profile indexes[{n}].include")))
            .Concat((x.Where ?? []).Keys.Select(c => (c, $"profile indexes[{n}].where"))));

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
        if (Indexes is not null)
        {
            if (Indexes.Count == 0)
                throw new InvalidRequestException("profile indexes", "[]", "is empty: leave it out to build the spec's two indexes");
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var n = 0; n < Indexes.Count; n++)
            {
                var index = Indexes[n] ?? throw new InvalidRequestException($"profile indexes[{n}]", "null", "is not an index");
                index.Validate(this, $"profile indexes[{n}]");
                if (!names.Add(index.Name))
                    throw new InvalidRequestException($"profile indexes[{n}].name", index.Name, "names another index of the profile too");
            }
        }
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

    /// <summary>
    /// "fhir" (or null/empty) and "fhir-prototype" for the built-in profiles, else a JSON file of the same shape (snake_case).
    /// </summary>
    public static BackfillProfile Load(string? fhirOrPath)
    {
        if (string.IsNullOrWhiteSpace(fhirOrPath) || fhirOrPath.Equals("fhir", StringComparison.OrdinalIgnoreCase))
            return Fhir;
        if (fhirOrPath.Equals(FhirPrototype.Name, StringComparison.OrdinalIgnoreCase))
            return FhirPrototype;
        if (!File.Exists(fhirOrPath))
            throw new InvalidRequestException("--profile", fhirOrPath, "is neither 'fhir', 'fhir-prototype' nor an existing profile file");
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

/// <summary>
/// One filtered index of a profile's "indexes": which partition it covers ("system" or "default": WHERE the partition
/// column equals that value), its key columns, INCLUDE columns, extra equality conditions (column: number or
/// true/false) and whether it is unique (the default, as the spec's).
/// </summary>
public sealed record ProfileIndex
{
    public string Name { get; init; } = "";
    public string Partition { get; init; } = "";
    public IReadOnlyList<string> Columns { get; init; } = [];
    public IReadOnlyList<string>? Include { get; init; }
    public Dictionary<string, JsonElement>? Where { get; init; }
    public bool Unique { get; init; } = true;

    /// <summary>A "where" for profiles built in code: each value a bool or an integer, as JSON would carry it.</summary>
    public static Dictionary<string, JsonElement> Conditions(params (string Column, object Value)[] conditions) =>
        conditions.ToDictionary(c => c.Column, c => JsonSerializer.SerializeToElement(c.Value));

    internal void Validate(BackfillProfile profile, string field)
    {
        Identifier.Validate(Name, field + ".name");
        if (!Partition.Equals("system", StringComparison.Ordinal) && !Partition.Equals("default", StringComparison.Ordinal))
            throw new InvalidRequestException(field + ".partition", Partition, "must be \"system\" or \"default\"");
        if (Columns is null || Columns.Count == 0)
            throw new InvalidRequestException(field + ".columns", "[]", "is empty: an index needs key columns");
        foreach (var c in Columns) Identifier.Validate(c, field + ".columns");
        foreach (var c in Include ?? []) Identifier.Validate(c, field + ".include");
        var all = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in Columns.Concat(Include ?? []))
            if (!all.Add(c)) throw new InvalidRequestException(field + ".include", c, "is named twice among the key and INCLUDE columns");
        foreach (var (column, value) in Where ?? [])
        {
            Identifier.Validate(column, field + ".where");
            if (column.Equals(profile.PartitionColumn, StringComparison.OrdinalIgnoreCase))
                throw new InvalidRequestException(field + ".where", column,
                    "is the partition column: its condition comes from \"partition\"");
            _ = Condition(column, value, field);
        }
    }

    internal FilteredIndex ToFilteredIndex(BackfillProfile profile) =>
        new(Name, Columns, Partition == "system" ? profile.SystemValue : profile.DefaultValue)
        {
            Include = Include ?? [],
            Where = (Where ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => Condition(kv.Key, kv.Value, "profile index")).ToList(),
            Unique = Unique,
        };

    private static IndexCondition Condition(string column, JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => new(column, 1, IsBoolean: true),
        JsonValueKind.False => new(column, 0, IsBoolean: true),
        JsonValueKind.Number when value.TryGetInt64(out var number) => new(column, number),
        _ => throw new InvalidRequestException($"{field}.where.{column}", value.GetRawText(), "must be an integer or true/false"),
    };
}
