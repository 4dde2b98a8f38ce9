using Npgsql;

namespace PartitionOps.IntegrationTests.Infrastructure;

/// <summary>
/// What "nothing changed" means, read from the real server: every schema, relation (kind, tablespace), column and
/// constraint outside the system schemas, and the exact row count of every table. Two equal fingerprints: no DDL and
/// no row written (an UPDATE in place keeps counts, so the caller adds sums where rows could move).
/// </summary>
internal static class DatabaseFingerprint
{
    public static async Task<string> ReadAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var catalog = await ScalarAsync(connection, """
            SELECT coalesce(string_agg(line, E'\n' ORDER BY line), '') FROM (
                SELECT 'schema ' || nspname AS line FROM pg_namespace
                 WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'
                UNION ALL
                SELECT format('rel %I.%I %s ts=%s valid=%s', n.nspname, c.relname, c.relkind, c.reltablespace,
                              coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = c.oid)::text, '-'))
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                UNION ALL
                SELECT format('col %I.%I.%I %s %s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull)
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                   AND n.nspname NOT LIKE 'pg_toast%'
                UNION ALL
                SELECT format('con %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint
                 WHERE connamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema'))
            ) lines
            """);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("""
            SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
             ORDER BY 1
            """, connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        var counts = new List<string>();
        foreach (var table in tables)
            counts.Add($"rows {table} {await ScalarAsync(connection, $"SELECT count(*)::text FROM {table}")}");
        return catalog + "\n" + string.Join("\n", counts);
    }

    private static async Task<string> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
