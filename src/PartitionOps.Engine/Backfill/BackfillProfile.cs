using System.Text.Json;
using System.Text.Json.Serialization;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Validation;

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
        ? IndexColumns.Select(c => (c, "index_columns"))
        : Indexes.SelectMany((x, n) => x.Columns.Select(c => (c, $"indexes[{n}].columns"))
            .Concat((x.Include ?? []).Select(c => (c, $"indexes[{n}].include")))
            .Concat((x.Where ?? []).Keys.Select(c => (c, $"indexes[{n}].where"))));

    private static readonly string[] ColumnTypes = ["smallint", "int", "integer", "bigint"];

    /// <summary>The values each partition column type holds (PostgreSQL / SQL Server smallint, int, bigint).</summary>
    private static (long Min, long Max) RangeOf(string columnType) => columnType.ToLowerInvariant() switch
    {
        "smallint" => (short.MinValue, short.MaxValue),
        _ => (int.MinValue, int.MaxValue),
    };

    private const string P = nameof(BackfillScope.Profile);

    /// <summary>Throws <see cref="InvalidRequestException"/> naming the first bad field (key: the scope's Profile).</summary>
    public BackfillProfile Validated()
    {
        if (Schema != null) Identifier.ValidateSchema(Schema, P);
        Name_(Table, "table");
        Name_(LookupTable, "lookup_table");
        Name_(LookupIdColumn, "lookup_id_column");
        Name_(LookupNameColumn, "lookup_name_column");
        Name_(TypeColumn, "type_column");
        Name_(KeyColumn, "key_column");
        Name_(PartitionColumn, "partition_column");
        Name_(SystemIndexName, "system_index_name");
        Name_(DefaultIndexName, "default_index_name");
        if (IndexColumns is null || IndexColumns.Count == 0) throw new InvalidRequestException(P, "index_columns", "[]", "is empty");
        foreach (var c in IndexColumns) Name_(c, "index_columns");
        if (IndexColumns.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InvalidRequestException(P, "index_columns", twice.Key, "is listed twice");
        if (string.Equals(PartitionColumn, KeyColumn, StringComparison.OrdinalIgnoreCase)
            || string.Equals(PartitionColumn, TypeColumn, StringComparison.OrdinalIgnoreCase))
            throw new InvalidRequestException(P, "partition_column", PartitionColumn,
                "is also the type_column or the key_column: it must be a column of its own");
        if (!ColumnTypes.Contains(PartitionColumnType ?? "", StringComparer.OrdinalIgnoreCase))
            throw new InvalidRequestException(P, "partition_column_type", PartitionColumnType, "is not one of smallint, int, bigint");
        var (min, max) = RangeOf(PartitionColumnType!);
        foreach (var (field, value) in new[] { ("default_value", DefaultValue), ("system_value", SystemValue) })
            if (value < min || value > max)
                throw new InvalidRequestException(P, field, value,
                    $"does not fit the partition column's type {PartitionColumnType} ({min:N0} to {max:N0})");
        if (DefaultValue == SystemValue)
            throw new InvalidRequestException(P, "system_value", SystemValue, "equals default_value: the two partitions must differ");
        if (SystemTypes is null || SystemTypes.Count == 0) throw new InvalidRequestException(P, "system_types", "[]", "is empty");
        foreach (var t in SystemTypes)
            if (string.IsNullOrWhiteSpace(t) || t.Length > 128 || t.Trim() != t || t.Any(char.IsControl))
                throw new InvalidRequestException(P, "system_types", t ?? "",
                    "is not a type name: 1 to 128 characters, no leading or trailing space, no control character or line break");
        if (SystemTypes.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
            throw new InvalidRequestException(P, "system_types", duplicate.Key, "is listed twice");
        if (string.Equals(SystemIndexName, DefaultIndexName, StringComparison.OrdinalIgnoreCase))
            throw new InvalidRequestException(P, "default_index_name", DefaultIndexName, "equals system_index_name");
        if (Indexes is not null)
        {
            if (Indexes.Count == 0)
                throw new InvalidRequestException(P, "indexes", "[]", "is empty: leave it out to build the spec's two indexes");
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var n = 0; n < Indexes.Count; n++)
            {
                var index = Indexes[n] ?? throw new InvalidRequestException(P, $"indexes[{n}]", "null", "is not an index");
                index.Validate(this, $"indexes[{n}]");
                if (!names.Add(index.Name))
                    throw new InvalidRequestException(P, $"indexes[{n}].name", index.Name, "names another index of the profile too");
            }
        }
        return this;
    }

    internal static void Name_(string? name, string field)
    {
        try { Identifier.Validate(name, P); }
        catch (InvalidRequestException e) { throw new InvalidRequestException(P, field, e.Value, e.Problem); }
    }

    /// <summary>
    /// The keys a profile file may hold: the properties above in snake_case, plus keys read by later additions.
    /// A new key is one entry here (or a new property).
    /// </summary>
    public static readonly KnownKeys FileKeys = new(
        typeof(BackfillProfile).GetProperties().Where(p => p.CanWrite).Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name))
            .Append("indexes"));

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // Keys are checked first by FileKeys (naming the nearest known key); a registered key not read here is ignored.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        // A profile written by ToJson parses back: a key left out takes the default, a null one is refused.
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>
    /// "fhir" (or null/empty) and "fhir-prototype" for the built-in profiles, else a JSON file of the same shape (snake_case).
    /// </summary>
    public static BackfillProfile Load(string? fhirOrPath)
    {
        if (fhirOrPath is null || fhirOrPath.Equals("fhir", StringComparison.OrdinalIgnoreCase))
            return Fhir;
        if (string.IsNullOrWhiteSpace(fhirOrPath))
            throw new InvalidRequestException(P, fhirOrPath, "is empty: give 'fhir' or a profile file");
        if (Directory.Exists(fhirOrPath))
            throw new InvalidRequestException(P, fhirOrPath, "is a folder: give 'fhir' or a profile file");
        if (fhirOrPath.Equals(FhirPrototype.Name, StringComparison.OrdinalIgnoreCase))
            return FhirPrototype;
        if (!File.Exists(fhirOrPath))
            throw new InvalidRequestException(P, fhirOrPath, "is neither 'fhir', 'fhir-prototype' nor an existing profile file");
        return Parse(File.ReadAllText(fhirOrPath), fhirOrPath);
    }

    public static BackfillProfile Parse(string json, string source = "profile")
    {
        using (var document = JsonFile.Parse(json, P, source))
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidRequestException(P, source, "must be a JSON object of profile keys");
            try
            {
                FileKeys.Check(document.RootElement, P, "");
                if (document.RootElement.TryGetProperty("indexes", out var indexes) && indexes.ValueKind == JsonValueKind.Array)
                {
                    var n = 0;
                    foreach (var index in indexes.EnumerateArray())
                    {
                        if (index.ValueKind == JsonValueKind.Object) ProfileIndex.FileKeys.Check(index, P, $"indexes[{n}]");
                        n++;
                    }
                }
            }
            catch (InvalidRequestException e) { throw new InvalidRequestException(P, $"{source}: {e.Field}", e.Value, e.Problem); }
            // Null would silently mean the default; only schema is null by design (the provider's default schema).
            foreach (var property in document.RootElement.EnumerateObject())
                if (property.Value.ValueKind == JsonValueKind.Null && property.Name != "schema")
                    throw new InvalidRequestException(P, $"{source}: {property.Name}", "null",
                        "is null: leave the key out to take the default");
        }
        BackfillProfile? profile;
        try { profile = JsonSerializer.Deserialize<BackfillProfile>(json, JsonOptions); }
        catch (JsonException e)
        {
            throw JsonFile.TypeError(e, P, source);
        }
        if (profile is null) throw new InvalidRequestException(P, source, "is empty");
        try { return profile.Validated(); }
        catch (InvalidRequestException e) { throw new InvalidRequestException(P, e.Field is null ? source : $"{source}: {e.Field}",
            e.Value, e.Problem); }
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
    /// <summary>The keys an entry of a profile file's "indexes" may hold: the properties in snake_case.</summary>
    public static readonly KnownKeys FileKeys = new(
        typeof(ProfileIndex).GetProperties().Where(p => p.CanWrite).Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)));

    public IReadOnlyList<string> Columns { get; init; } = [];
    public IReadOnlyList<string>? Include { get; init; }
    public Dictionary<string, JsonElement>? Where { get; init; }
    public bool Unique { get; init; } = true;

    /// <summary>A "where" for profiles built in code: each value a bool or an integer, as JSON would carry it.</summary>
    public static Dictionary<string, JsonElement> Conditions(params (string Column, object Value)[] conditions) =>
        conditions.ToDictionary(c => c.Column, c => JsonSerializer.SerializeToElement(c.Value));

    internal void Validate(BackfillProfile profile, string field)
    {
        BackfillProfile.Name_(Name, field + ".name");
        if (!Partition.Equals("system", StringComparison.Ordinal) && !Partition.Equals("default", StringComparison.Ordinal))
            throw new InvalidRequestException(
                nameof(BackfillScope.Profile), field + ".partition", Partition, "must be \"system\" or \"default\"");
        if (Columns is null || Columns.Count == 0)
            throw new InvalidRequestException(
                nameof(BackfillScope.Profile), field + ".columns", "[]", "is empty: an index needs key columns");
        foreach (var c in Columns) BackfillProfile.Name_(c, field + ".columns");
        foreach (var c in Include ?? []) BackfillProfile.Name_(c, field + ".include");
        var all = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in Columns.Concat(Include ?? []))
            if (!all.Add(c))
                throw new InvalidRequestException(
                    nameof(BackfillScope.Profile), field + ".include", c, "is named twice among the key and INCLUDE columns");
        foreach (var (column, value) in Where ?? [])
        {
            BackfillProfile.Name_(column, field + ".where");
            if (column.Equals(profile.PartitionColumn, StringComparison.OrdinalIgnoreCase))
                throw new InvalidRequestException(nameof(BackfillScope.Profile), field + ".where", column,
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
        _ => throw new InvalidRequestException(
            nameof(BackfillScope.Profile), $"{field}.where.{column}", value.GetRawText(), "must be an integer or true/false"),
    };
}
