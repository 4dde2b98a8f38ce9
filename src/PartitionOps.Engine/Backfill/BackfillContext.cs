using System.Data.Common;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>A system type as found in the lookup table.</summary>
public sealed record ResolvedType(string Name, int Id);

/// <summary>
/// A scope checked against the database: every name exists, the key is an integer, the partition column
/// (if present) has the profile's type, the lookup holds the system types. Built before anything changes.
/// </summary>
internal sealed class BackfillContext
{
    public required DatabaseTarget Target { get; init; }
    public required IBackfillDialect Dialect { get; init; }
    public required BackfillTable Table { get; init; }
    public required bool IsPartitioned { get; init; }
    public required bool ColumnExists { get; init; }
    /// <summary>Every type of the lookup by id.</summary>
    public required IReadOnlyDictionary<int, string> AllTypes { get; init; }
    /// <summary>All of the profile's system types found in the lookup.</summary>
    public required IReadOnlyList<ResolvedType> SystemTypes { get; init; }
    /// <summary>System types of the profile the lookup does not hold (only ever non-empty when resolved for the pre-flight).</summary>
    public IReadOnlyList<string> MissingSystemTypes { get; init; } = [];
    /// <summary>The system types this request works on (all, or the --resource-type ones).</summary>
    public required IReadOnlyList<ResolvedType> SelectedTypes { get; init; }

    public IDatabaseProvider Provider => Target.Provider;
    public BackfillProfile Profile => Table.Profile;
    public string Display => $"{Table.Schema}.{Table.Table}";

    private static readonly string[] IntegerTypes = ["smallint", "integer", "int", "bigint", "tinyint", "numeric", "number"];

    public SqlParameter[] TableParameters() =>
        [new("table_schema", Table.Schema), new("table_name", Table.Table), new("column_name", Profile.PartitionColumn)];

    /// <summary>The value a run of <paramref name="direction"/> writes: the system value for a backfill, the default for an undo.</summary>
    public int TargetValue(BackfillDirection direction) =>
        direction == BackfillDirection.Backfill ? Profile.SystemValue : Profile.DefaultValue;

    /// <summary>The value a run of <paramref name="direction"/> moves rows away from (what its sweep looks for).</summary>
    public int SourceValue(BackfillDirection direction) =>
        direction == BackfillDirection.Backfill ? Profile.DefaultValue : Profile.SystemValue;

    /// <param name="allowMissingSystemTypes">The pre-flight reports system types missing from the lookup as a failed check
    /// instead of refusing; every other caller refuses them (nothing can be placed without its type id).</param>
    public static async Task<BackfillContext> ResolveAsync(BackfillScope scope, DbConnection connection, CancellationToken ct,
        bool allowMissingSystemTypes = false)
    {
        var provider = scope.Target.Provider;
        var dialect = provider.Backfill
            ?? throw new InvalidRequestException(nameof(DatabaseTarget.Provider), provider.Name,
                "does not support backfill: use sqlserver or postgresql");
        var profile = scope.Validated().Profile;
        var schema = Identifier.ValidateSchema(scope.Schema ?? profile.Schema ?? provider.DefaultSchema, nameof(BackfillScope.Schema));
        var controlSchema = Identifier.ValidateSchema(scope.ControlSchema ?? provider.DefaultControlSchema,
            nameof(BackfillScope.ControlSchema));
        var table = new BackfillTable(schema, profile, controlSchema);

        if (await connection.ScalarAsync<int>(provider, dialect.SchemaExists(schema), ct) == 0)
            throw new InvalidRequestException(nameof(BackfillScope.Schema), schema, "does not exist");

        var tableInfo = await connection.QueryAsync(provider, dialect.TableInfo(schema, profile.Table),
            r => r.Get<int>("is_partitioned") == 1, ct);
        if (tableInfo.Count == 0)
        {
            var bases = await connection.QueryAsync(provider, dialect.ViewBaseTables(schema, profile.Table),
                r => (Schema: r.Get<string>("base_schema")!, Table: r.Get<string>("base_table")!), ct);
            if (bases.Count > 0) throw ViewNotTable(schema, profile.Table, bases);
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "table", $"{schema}.{profile.Table}", "does not exist");
        }

        var columns = (await connection.QueryAsync(provider, dialect.Columns(schema, profile.Table),
                r => (Name: r.Get<string>("column_name")!, Type: r.Get<string>("data_type")!.ToLowerInvariant()), ct))
            .ToDictionary(c => c.Name, c => c.Type, StringComparer.Ordinal);
        string RequireColumn(string name, string what)
        {
            if (!columns.TryGetValue(name, out var type))
                throw new InvalidRequestException(nameof(BackfillScope.Profile), what, name,
                    $"is not a column of {schema}.{profile.Table}");
            return type;
        }
        RequireColumn(profile.TypeColumn, "type_column");
        var keyType = RequireColumn(profile.KeyColumn, "key_column");
        if (!IntegerTypes.Any(keyType.StartsWith))
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "key_column", profile.KeyColumn,
                $"has type {keyType}: the key walked in ranges must be an integer");
        foreach (var (c, field) in profile.IndexedColumns().Where(c => c.Column != profile.PartitionColumn)) RequireColumn(c, field);

        var columnExists = columns.TryGetValue(profile.PartitionColumn, out var partitionType);
        if (columnExists && !SameIntegerType(partitionType!, profile.PartitionColumnType))
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "partition_column", profile.PartitionColumn,
                $"already exists with type {partitionType}, not {profile.PartitionColumnType}");

        var lookupInfo = await connection.QueryAsync(provider, dialect.TableInfo(schema, profile.LookupTable), r => 0, ct);
        if (lookupInfo.Count == 0)
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "lookup_table", $"{schema}.{profile.LookupTable}",
                "does not exist");
        List<(int Id, string Name)> lookup;
        try
        {
            lookup = await connection.QueryAsync(provider, dialect.LookupTypes(table),
                r => (r.Get<int>("type_id"), r.Get<string>("name")!), ct);
        }
        catch (DbException e) when (provider.Errors.Classify(e) == ErrorKind.Permanent)
        {
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "lookup_table", $"{schema}.{profile.LookupTable}",
                $"cannot be read with columns {profile.LookupIdColumn}, {profile.LookupNameColumn}: {e.Message}");
        }
        var byName = lookup.GroupBy(t => t.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        var missing = profile.SystemTypes.Where(t => !byName.ContainsKey(t)).ToList();
        if (missing.Count > 0 && !allowMissingSystemTypes)
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "system_types", string.Join(", ", missing),
                $"not found in {schema}.{profile.LookupTable}");
        var systemTypes = profile.SystemTypes.Where(byName.ContainsKey).Select(n => new ResolvedType(n, byName[n])).ToList();

        var selected = systemTypes;
        if (scope.ResourceTypes.Count > 0)
        {
            foreach (var name in scope.ResourceTypes)
                if (!profile.SystemTypes.Contains(name, StringComparer.Ordinal))
                    throw new InvalidRequestException(nameof(BackfillScope.ResourceTypes), name,
                        $"is not one of the profile's system types ({string.Join(", ", profile.SystemTypes)})");
            selected = systemTypes.Where(t => scope.ResourceTypes.Contains(t.Name, StringComparer.Ordinal)).ToList();
        }

        return new BackfillContext
        {
            Target = scope.Target,
            Dialect = dialect,
            Table = table,
            IsPartitioned = tableInfo[0],
            ColumnExists = columnExists,
            AllTypes = lookup.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First().Name),
            SystemTypes = systemTypes,
            MissingSystemTypes = missing,
            SelectedTypes = selected,
        };
    }

    /// <summary>
    /// A view where the profile names a table (a fhir-server branch turns dbo.Resource into a view over CurrentResources
    /// and HistoryResources): the backfill updates a table's rows and builds indexes on a table, so each base table needs
    /// a run of its own.
    /// </summary>
    internal static InvalidRequestException ViewNotTable(string schema, string view, IReadOnlyList<(string Schema, string Table)> bases)
    {
        var names = bases.Select(b => b.Schema == schema ? b.Table : $"{b.Schema}.{b.Table}").ToList();
        var example = string.Join(", then ", names.Select(n => $"{n}.json"));
        return new InvalidRequestException(nameof(BackfillScope.Profile), "table", $"{schema}.{view}",
            $"is a view, not a table: it reads {string.Join(", ", bases.Select(b => $"{b.Schema}.{b.Table}"))}. " +
            "The backfill updates a table " +
            "and builds indexes on it: run it once per base table, each with a profile file that names it (a copy of the profile with " +
            $"\"table\" set to {string.Join(" / ", names.Select(n => $"\"{n}\""))} and its own index names), " +
            $"e.g. one run with the profile {example}");
    }

    private static bool SameIntegerType(string actual, string wanted)
    {
        static string Norm(string t) => t switch
        {
            "int" or "int4" or "integer" => "integer", "int2" => "smallint", "int8" => "bigint", _ => t,
        };
        return Norm(actual.ToLowerInvariant()) == Norm(wanted.ToLowerInvariant());
    }
}
