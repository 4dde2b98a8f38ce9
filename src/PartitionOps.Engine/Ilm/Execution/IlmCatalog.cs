using System.Data.Common;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm.Execution;

/// <summary>Reads a table's partition layout from the live catalog through the dialect's queries.</summary>
public static class IlmCatalog
{
    public static IIlmDialect DialectOf(IDatabaseProvider provider) =>
        provider.Ilm
        ?? throw new InvalidRequestException(
            nameof(DatabaseTarget.Provider), provider.Name, "does not support ILM: use oracle or postgresql");

    /// <summary>
    /// The layout of <paramref name="schema"/>.<paramref name="table"/>. A missing table, one that is not
    /// range partitioned on one date column, is bad input naming the table.
    /// </summary>
    public static async Task<PartitionLayout> ReadAsync(DbConnection connection, IDatabaseProvider provider,
        string? schema, string table, CancellationToken ct)
    {
        var dialect = DialectOf(provider);
        var qualified = schema is null ? table : $"{schema}.{table}";
        var info = await connection.QueryAsync(provider, dialect.TableInfo(schema, table), r => new
        {
            Owner = r.Get<string>("table_owner")!,
            Name = r.Get<string>("table_name")!,
            Type = r.Get<string>("partitioning_type"),
            KeyCount = r.Get<int?>("key_count"),
            Key = r.Get<string>("partition_key"),
            Interval = r.Get<int>("is_interval") == 1,
            Composite = r.Get<int>("is_composite") == 1,
            IndexOrganized = HasColumn(r, "is_iot") && r.Get<int>("is_iot") == 1,
        }, ct).ConfigureAwait(false);
        var t = info.Count > 0 ? info[0] : throw new InvalidRequestException(nameof(IlmTableRequest.Table), qualified, "does not exist");
        if (t.Type is null) throw new InvalidRequestException(nameof(IlmTableRequest.Table), qualified, "is not a partitioned table");
        if (!string.Equals(t.Type, "RANGE", StringComparison.OrdinalIgnoreCase) || t.KeyCount != 1 || t.Key is null)
            throw new InvalidRequestException(nameof(IlmTableRequest.Table), qualified,
                $"is partitioned by {t.Type} on {t.KeyCount} key(s): ILM needs range partitioning on one date column");
        if (t.Composite)
            throw new InvalidRequestException(nameof(IlmTableRequest.Table), qualified,
                "is subpartitioned: ILM handles one level of range partitions (the spec leaves subpartitions to a later phase)");

        // The version first: it decides which catalog columns hold the bounds (Oracle 23ai: HIGH_VALUE_JSON).
        var version = await connection.ScalarAsync<int?>(provider, dialect.ServerVersion(), ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync(provider, dialect.Partitions(t.Owner, t.Name, version), r => new
        {
            Name = r.Get<string>("partition_name")!,
            Position = r.Get<int>("partition_position"),
            Bound = r.Get<string>("bound_text") ?? "",
            Fallback = HasColumn(r, "bound_text_fallback") ? r.Get<string>("bound_text_fallback") : null,
            Tablespace = r.Get<string>("tablespace_name"),
            Compression = r.Get<string>("compression"),
            Rows = r.Get<long?>("row_estimate"),
            Interval = r.Get<int>("is_interval") == 1,
        }, ct).ConfigureAwait(false);
        if (rows.Count == 0) throw new InvalidRequestException(nameof(IlmTableRequest.Table), qualified, "has no partitions");

        var partitions = new List<PartitionInfo>();
        foreach (var row in rows)
        {
            var bound = dialect.ParseBound(row.Bound) ?? (row.Fallback is { } fallback ? dialect.ParseBound(fallback) : null);
            if (bound is null && !row.Bound.Trim().Equals("DEFAULT", StringComparison.OrdinalIgnoreCase))
                throw new InvalidRequestException(nameof(IlmTableRequest.Table), qualified,
                    $"is not range partitioned by date: partition {row.Name} has bound {row.Fallback ?? row.Bound}");
            if (bound is null) continue; // a PostgreSQL DEFAULT partition takes no part in ILM
            partitions.Add(new PartitionInfo
            {
                Name = row.Name,
                Position = row.Position,
                LowerBound = bound.Lower,
                UpperBound = bound.Upper,
                Tablespace = row.Tablespace,
                Compression = row.Compression,
                RowEstimate = row.Rows,
                IsInterval = row.Interval,
            });
        }

        var columns = new List<string>();
        if (dialect.Columns(t.Owner, t.Name) is { } columnQuery)
            columns = await connection.QueryAsync(provider, columnQuery, r => r.Get<string>("column_name")!, ct).ConfigureAwait(false);

        List<string>? keys = null;
        if (dialect.KeyColumns(t.Owner, t.Name) is { } keyQuery)
        {
            keys = await connection.QueryAsync(provider, keyQuery, r => r.Get<string>("column_name")!, ct).ConfigureAwait(false);
            if (keys.Count == 0) keys = null;
        }

        var layout = new PartitionLayout
        {
            Provider = dialect.ProviderName,
            Schema = t.Owner,
            Table = t.Name,
            PartitionKey = t.Key,
            Columns = columns,
            KeyColumns = keys,
            IsIntervalPartitioned = t.Interval,
            IsIndexOrganized = t.IndexOrganized,
            ServerMajorVersion = version,
            CapturedAtUtc = DateTime.UtcNow,
            Partitions = partitions,
        };
        // Positions in bound order (PostgreSQL has none of its own).
        return layout with
        {
            Partitions = layout.InBoundOrder().Select(p => partitions.First(x => x.Name == p.Name) with { Position = p.Position }).ToList(),
        };
    }

    private static bool HasColumn(System.Data.Common.DbDataReader reader, string column)
    {
        for (var i = 0; i < reader.FieldCount; i++)
            if (string.Equals(reader.GetName(i), column, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
