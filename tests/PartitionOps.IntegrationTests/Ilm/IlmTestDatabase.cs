using Xunit.Abstractions;
using System.Globalization;
using Npgsql;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// A fresh database with three real tablespaces (in folders of the throwaway cluster) and a
/// <c>public.sales</c> table range partitioned by <c>sale_date</c>, ten rows a day.
/// Tablespaces are cluster-wide, so their names carry a per-test suffix; the policy names them.
/// </summary>
internal sealed class IlmTestDatabase
{
    public const int RowsPerDay = 10;

    private IlmTestDatabase(string connectionString, string suffix)
    {
        ConnectionString = connectionString;
        Hot = "tbs_hot_" + suffix;
        Warm = "tbs_warm_" + suffix;
        Cold = "tbs_cold_" + suffix;
        Target = new DatabaseTarget(PostgreSqlProvider.Instance, connectionString);
    }

    public string ConnectionString { get; }
    public string Hot { get; }
    public string Warm { get; }
    public string Cold { get; }
    public DatabaseTarget Target { get; }

    public IlmPolicy Policy => IlmPolicy.Default with
    {
        Hot = IlmPolicy.Default.Hot with { Tablespace = Hot },
        Warm = IlmPolicy.Default.Warm with { Tablespace = Warm },
        Cold = IlmPolicy.Default.Cold with { Tablespace = Cold },
    };

    /// <summary>Null (and the reason written) when the server is external: tablespace folders need the local cluster.</summary>
    public static async Task<IlmTestDatabase?> CreateAsync(PostgresFixture postgres, ITestOutputHelper output)
    {
        if (postgres.Cluster is null)
        {
            output.WriteLine("SKIPPED: PARTITIONOPS_TEST_POSTGRES names an external server; " +
                "ILM tests need tablespace folders of the local throwaway cluster.");
            return null;
        }
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var cs = await postgres.CreateDatabaseAsync("ilm");
        var db = new IlmTestDatabase(cs, suffix);
        foreach (var tablespace in new[] { db.Hot, db.Warm, db.Cold })
        {
            var folder = await postgres.Cluster.CreateServerOwnedDirectoryAsync(tablespace);
            await db.ExecuteAsync($"CREATE TABLESPACE {tablespace} LOCATION '{folder}'");
        }
        await db.ExecuteAsync(
            "CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL, amount numeric(12,2)) PARTITION BY RANGE (sale_date)");
        await db.ExecuteAsync("CREATE INDEX sales_sale_date ON public.sales (sale_date)");
        return db;
    }

    /// <summary>
    /// Creates a tablespace in a folder of the throwaway cluster unless one of that exact name exists (tablespaces are
    /// cluster-wide). <paramref name="sqlName"/> is written into CREATE TABLESPACE as is: unquoted names fold to lower case.
    /// </summary>
    public async Task CreateTablespaceAsync(PostgresFixture postgres, string sqlName)
    {
        var stored = sqlName.StartsWith('"') ? sqlName.Trim('"') : sqlName.ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_tablespace WHERE spcname = @name", connection))
        {
            exists.Parameters.AddWithValue("name", stored);
            if ((long)(await exists.ExecuteScalarAsync())! > 0) return;
        }
        var folder = await postgres.Cluster!.CreateServerOwnedDirectoryAsync("ts_" + Guid.NewGuid().ToString("N")[..12]);
        await ExecuteAsync($"CREATE TABLESPACE {sqlName} LOCATION '{folder}'");
    }

    /// <summary>Adds a partition [from, to) in a tablespace and fills it with <see cref="RowsPerDay"/> rows a day.</summary>
    public async Task AddPartitionAsync(string name, string from, string to, string tablespace)
    {
        await ExecuteAsync(
            $"CREATE TABLE public.{name} PARTITION OF public.sales FOR VALUES FROM ('{from}') TO ('{to}') TABLESPACE {tablespace}");
        await ExecuteAsync($"""
            INSERT INTO public.sales (id, sale_date, amount)
            SELECT row_number() OVER () + (SELECT coalesce(max(id), 0) FROM public.sales), d::date, 1.5
            FROM generate_series('{from}'::date, '{to}'::date - 1, interval '1 day') d, generate_series(1, {RowsPerDay}) n
            """);
    }

    public Task AddMonthAsync(int year, int month, string tablespace)
    {
        var start = new DateTime(year, month, 1);
        return AddPartitionAsync($"p_{year:D4}_{month:D2}", Date(start), Date(start.AddMonths(1)), tablespace);
    }

    /// <summary>
    /// The spec's scenario 1: P_2023 (January to October) in WARM, and November 2023 as a month in
    /// <paramref name="novemberTablespace"/>.
    /// </summary>
    public async Task AddWarm2023WithNovemberAsync(string novemberTablespace)
    {
        await AddPartitionAsync("p_2023", "2023-01-01", "2023-11-01", Warm);
        await AddMonthAsync(2023, 11, novemberTablespace);
    }

    public static string Date(DateTime d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static long DaysRows(string from, string to) =>
        (long)(DateTime.Parse(to, CultureInfo.InvariantCulture) - DateTime.Parse(from, CultureInfo.InvariantCulture)).TotalDays
        * RowsPerDay;

    public async Task AnalyzeAsync() => await ExecuteAsync("ANALYZE public.sales");

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public Task<long> TotalRowsAsync() => ScalarAsync<long>("SELECT count(*) FROM public.sales");

    /// <summary>name -> (bound, tablespace) of every partition, for before/after comparisons.</summary>
    public async Task<Dictionary<string, (string Bound, string Tablespace)>> PartitionsAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), coalesce(ts.spcname, 'pg_default')
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
            WHERE i.inhparent = 'public.sales'::regclass
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var result = new Dictionary<string, (string, string)>();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = (reader.GetString(1), reader.GetString(2));
        return result;
    }

    public async Task<List<(string Source, string Target, string Status, long? Rows, string? Error)>> AuditAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT source_partition, target_partition, merge_status, rows_merged::bigint, error_message " +
            "FROM partitionops.dwh_ilm_partition_merges ORDER BY merge_id",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, string, long?, string?)>();
        while (await reader.ReadAsync())
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        return rows;
    }

    public Task<bool> ControlSchemaExistsAsync() =>
        ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'partitionops')");
}
