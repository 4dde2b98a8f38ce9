using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;

namespace PartitionOps.Engine.Providers.PostgreSql;

/// <summary>
/// ILM on PostgreSQL 15+. A move is SET TABLESPACE. A merge copies only the months' rows: the
/// partition that grows gets a CHECK constraint for its wider range, validated first (VALIDATE takes
/// SHARE UPDATE EXCLUSIVE, so writers go on); then in one transaction it is detached, receives the
/// months' rows, the months are dropped and it is attached with the wider bound, where the constraint
/// lets ATTACH skip its validation scan
/// (https://www.postgresql.org/docs/15/sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION).
/// PostgreSQL has no table compression: the policy's compression is not applied.
/// </summary>
public sealed partial class PostgreSqlIlmDialect : IIlmDialect
{
    public static readonly PostgreSqlIlmDialect Instance = new();

    /// <summary>The temporary constraint that carries the wider range into ATTACH.</summary>
    public const string BoundConstraint = "partitionops_ilm_bound";

    public string ProviderName => "postgresql";
    public bool MultiPartitionMerge => true;
    public bool MergeRewritesTarget => false;
    public bool TransactionalDdl => true;
    public string? DefaultSchema => "public";
    public string? DefaultControlSchema => "partitionops";

    public string NormalizeName(string name) => name;

    private static string Q(string name) => Identifier.Quote(name, '"', '"');

    private static string Table(string schema, string table) => string.IsNullOrEmpty(schema) ? Q(table) : Q(schema) + "." + Q(table);

    private static string Partition(PartitionLayout t, string partition) => Table(t.Schema, partition);

    private static string Control(string? schema, string table) => Table(schema ?? "partitionops", table);

    private static SqlParameter P(string name, object? value) => new(name, value);

    // ---- catalog ----

    public SqlStatement ServerVersion() => new("SELECT current_setting('server_version_num')::int / 10000");

    public SqlStatement TableInfo(string? schema, string table) => SqlStatement.Of("""
        SELECT n.nspname AS table_owner,
               c.relname AS table_name,
               CASE pt.partstrat WHEN 'r' THEN 'RANGE' WHEN 'l' THEN 'LIST' WHEN 'h' THEN 'HASH' END AS partitioning_type,
               pt.partnatts AS key_count,
               (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = pt.partattrs[0]) AS partition_key,
               0 AS is_interval,
               CASE WHEN EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                                 WHERE i.inhparent = c.oid AND k.relkind = 'p') THEN 1 ELSE 0 END AS is_composite
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
        WHERE n.nspname = @schema AND c.relname = @table_name AND c.relkind IN ('r', 'p')
        """, P("schema", schema ?? "public"), P("table_name", table));

    // reltablespace 0 means the database's default tablespace; reltuples -1 means never analysed.
    public SqlStatement Partitions(string owner, string table) => SqlStatement.Of("""
        SELECT c.relname AS partition_name,
               0 AS partition_position,
               pg_get_expr(c.relpartbound, c.oid) AS bound_text,
               COALESCE(ts.spcname, (SELECT dts.spcname FROM pg_database d JOIN pg_tablespace dts ON dts.oid = d.dattablespace
                                     WHERE d.datname = current_database())) AS tablespace_name,
               NULL::text AS compression,
               CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS row_estimate,
               0 AS is_interval
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
        WHERE n.nspname = @schema AND p.relname = @table_name
        """, P("schema", owner), P("table_name", table));

    public SqlStatement? Columns(string owner, string table) => SqlStatement.Of("""
        SELECT a.attname AS column_name
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table_name AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        ORDER BY a.attnum
        """, P("schema", owner), P("table_name", table));

    public SqlStatement Tablespaces() => new("SELECT spcname AS tablespace_name FROM pg_tablespace ORDER BY spcname");

    [GeneratedRegex(@"^FOR VALUES FROM \((?<from>MINVALUE|'[^']*')\) TO \((?<to>MAXVALUE|'[^']*')\)$", RegexOptions.CultureInvariant)]
    private static partial Regex RangeBound();

    public PartitionBound? ParseBound(string boundText)
    {
        var m = RangeBound().Match(boundText.Trim());
        if (!m.Success) return null;
        return TryLiteral(m.Groups["from"].Value, out var lower) && TryLiteral(m.Groups["to"].Value, out var upper)
            ? new PartitionBound(lower, upper)
            : null;
    }

    // '2023-01-01', '2023-01-01 00:00:00' and '2023-01-01 00:00:00+00' (timestamptz in the session's zone).
    private static bool TryLiteral(string text, out DateTime? value)
    {
        value = null;
        if (text is "MINVALUE" or "MAXVALUE") return true;
        var inner = text.Trim('\'');
        if (inner.Length < 10) return false;
        var date = inner[..10];
        var time = inner.Length >= 19 ? inner[11..19] : "00:00:00";
        if (!DateTime.TryParseExact(date + " " + time, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            return false;
        value = parsed;
        return true;
    }

    // Bounds come from DateTime values (never from user text), so writing them as literals is safe;
    // partition bounds and CHECK constraints cannot take parameters.
    private static string Literal(DateTime d) =>
        "'" + (d.TimeOfDay == TimeSpan.Zero
            ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : d.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)) + "'";

    // ---- work ----

    public SqlStatement SetLockTimeout(int seconds) =>
        SqlStatement.Of("SELECT set_config('lock_timeout', @lock_timeout, false)",
            P("lock_timeout", seconds.ToString(CultureInfo.InvariantCulture) + "s"));

    // Indexes stay where they are: SET TABLESPACE moves the table's data only.
    public IReadOnlyList<SqlStatement> Move(PartitionLayout table, MoveAction move, bool online) =>
        [new($"ALTER TABLE {Partition(table, move.PartitionName)} SET TABLESPACE {Q(move.ToTablespace)}")];

    public MergeScript Merge(PartitionLayout table, MergeAction merge, bool online)
    {
        if (string.IsNullOrEmpty(table.PartitionKey))
            throw new InvalidRequestException(nameof(IlmPlanRequest.Layout), table.Table, "has no partition_key: PostgreSQL merge statements need it (take the layout with ilm snapshot on PostgreSQL)");
        if (table.Columns.Count == 0)
            throw new InvalidRequestException(nameof(IlmPlanRequest.Layout), table.Table, "has no columns: PostgreSQL merge statements copy rows by column (take the layout with ilm snapshot on PostgreSQL)");
        var head = Partition(table, merge.Head);
        var key = Q(table.PartitionKey);
        var range = new StringBuilder($"{key} IS NOT NULL");
        if (merge.LowerBound is { } lower) range.Append($" AND {key} >= {Literal(lower)}");
        range.Append($" AND {key} < {Literal(merge.UpperBound)}");

        var prepare = new List<SqlStatement>
        {
            new($"ALTER TABLE {head} DROP CONSTRAINT IF EXISTS {Q(BoundConstraint)}"),
            new($"ALTER TABLE {head} ADD CONSTRAINT {Q(BoundConstraint)} CHECK ({range}) NOT VALID"),
            new($"ALTER TABLE {head} VALIDATE CONSTRAINT {Q(BoundConstraint)}"),
        };
        var months = merge.Sources.Skip(1).ToList();
        // Locks first, so nobody writes to a month between its copy and its drop.
        var locks = new List<SqlStatement>
        {
            new($"LOCK TABLE {Table(table.Schema, table.Table)}, {string.Join(", ", merge.Sources.Select(s => Partition(table, s)))} IN ACCESS EXCLUSIVE MODE"),
        };
        var columns = string.Join(", ", table.Columns.Select(Q));
        var work = new List<SqlStatement> { new($"ALTER TABLE {Table(table.Schema, table.Table)} DETACH PARTITION {head}") };
        if (!string.Equals(merge.HeadTablespace, merge.Tablespace, StringComparison.OrdinalIgnoreCase))
            work.Add(new($"ALTER TABLE {head} SET TABLESPACE {Q(merge.Tablespace)}"));
        foreach (var month in months)
            work.Add(new($"INSERT INTO {head} ({columns}) SELECT {columns} FROM {Partition(table, month)}"));
        foreach (var month in months)
            work.Add(new($"DROP TABLE {Partition(table, month)}"));
        var from = merge.LowerBound is { } l ? Literal(l) : "MINVALUE";
        work.Add(new($"ALTER TABLE {Table(table.Schema, table.Table)} ATTACH PARTITION {head} FOR VALUES FROM ({from}) TO ({Literal(merge.UpperBound)})"));
        work.Add(new($"ALTER TABLE {head} DROP CONSTRAINT {Q(BoundConstraint)}"));
        if (!string.Equals(merge.Head, merge.TargetName, StringComparison.Ordinal))
            work.Add(new($"ALTER TABLE {head} RENAME TO {Q(merge.TargetName)}"));
        return new MergeScript(prepare, locks, work);
    }

    public IReadOnlyList<SqlStatement> Rename(PartitionLayout table, RenameAction rename) =>
        [new($"ALTER TABLE {Partition(table, rename.PartitionName)} RENAME TO {Q(rename.NewName)}")];

    // Session-level advisory lock keyed by the table's name; released explicitly and when the session ends.
    public SqlStatement? TryLockTable(string owner, string table) =>
        SqlStatement.Of("SELECT pg_try_advisory_lock(hashtext(@lock_name))", P("lock_name", $"partitionops.ilm:{owner}.{table}"));

    public SqlStatement? UnlockTable(string owner, string table) =>
        SqlStatement.Of("SELECT pg_advisory_unlock(hashtext(@lock_name))", P("lock_name", $"partitionops.ilm:{owner}.{table}"));

    public SqlStatement CountRows(PartitionLayout table, string partition) => new($"SELECT count(*) FROM {Partition(table, partition)}");

    // ---- control tables ----

    /// <summary>Serialized with backfill's creation in the same schema (see <see cref="PostgreSqlControlSchema"/>): run in one transaction.</summary>
    public IReadOnlyList<SqlStatement> CreateControlTables(string? controlSchema) =>
    [
        .. PostgreSqlControlSchema.LockAndCreate(controlSchema ?? "partitionops"),
        // The spec's columns; IN_PROGRESS marks a merge under way so an interrupted run can be reconciled.
        new($"""
        CREATE TABLE IF NOT EXISTS {Control(controlSchema, "dwh_ilm_partition_merges")} (
            merge_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            merge_date          timestamp DEFAULT localtimestamp,
            table_owner         varchar(128) NOT NULL,
            table_name          varchar(128) NOT NULL,
            source_partition    varchar(128) NOT NULL,
            target_partition    varchar(128) NOT NULL,
            merge_status        varchar(20) NOT NULL,
            error_message       varchar(4000),
            duration_seconds    numeric,
            rows_merged         numeric,
            CONSTRAINT chk_merge_status CHECK (merge_status IN ('SUCCESS', 'FAILED', 'SKIPPED', 'IN_PROGRESS'))
        )
        """),
        new($"""
        CREATE TABLE IF NOT EXISTS {Control(controlSchema, "dwh_ilm_config")} (
            config_key          varchar(100) PRIMARY KEY,
            config_value        varchar(4000),
            description         varchar(4000)
        )
        """),
        new($"""
        CREATE TABLE IF NOT EXISTS {Control(controlSchema, "dwh_ilm_execution_log")} (
            execution_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            execution_date      timestamp DEFAULT localtimestamp,
            table_owner         varchar(128) NOT NULL,
            table_name          varchar(128) NOT NULL,
            partition_name      varchar(128) NOT NULL,
            action              varchar(20) NOT NULL,
            source_tablespace   varchar(128),
            target_tablespace   varchar(128),
            status              varchar(20) NOT NULL,
            error_message       varchar(4000),
            duration_seconds    numeric,
            sql_text            varchar(4000)
        )
        """),
    ];

    public SqlStatement ControlTableExists(string? controlSchema, string table) => SqlStatement.Of("""
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table_name AND c.relkind IN ('r', 'p')
        """, P("schema", controlSchema ?? "partitionops"), P("table_name", table));

    public SqlStatement SeedConfig(string? controlSchema, string key, string value, string description) => SqlStatement.Of(
        $"INSERT INTO {Control(controlSchema, "dwh_ilm_config")} (config_key, config_value, description) VALUES (@config_key, @config_value, @description) ON CONFLICT (config_key) DO NOTHING",
        P("config_key", key), P("config_value", value), P("description", description));

    public SqlStatement SetConfig(string? controlSchema, string key, string value, string? description) => SqlStatement.Of(
        $"INSERT INTO {Control(controlSchema, "dwh_ilm_config")} (config_key, config_value, description) VALUES (@config_key, @config_value, @description) " +
        "ON CONFLICT (config_key) DO UPDATE SET config_value = EXCLUDED.config_value, description = COALESCE(EXCLUDED.description, dwh_ilm_config.description)",
        P("config_key", key), P("config_value", value), P("description", description));

    /// <summary>The audit, log and config statements shared with the other dialects.</summary>
    private static readonly IlmControlSql ControlSql = new(n => "@" + n, p => $"localtimestamp - make_interval(days => {p})", p => $"LIMIT {p}");

    public SqlStatement ReadConfig(string? controlSchema) => ControlSql.ReadConfig(Control(controlSchema, "dwh_ilm_config"));

    public SqlStatement InsertMergeAudit(string? controlSchema, MergeAuditEntry e) =>
        ControlSql.InsertMergeAudit(Control(controlSchema, "dwh_ilm_partition_merges"), e);

    public SqlStatement CompleteMergeAudit(string? controlSchema, MergeAuditEntry e) =>
        ControlSql.CompleteMergeAudit(Control(controlSchema, "dwh_ilm_partition_merges"), e);

    public SqlStatement MergeHistory(string? controlSchema, string? owner, string? table, int maxRows) =>
        ControlSql.MergeHistory(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table, maxRows);

    public SqlStatement InProgressMerges(string? controlSchema, string owner, string table) =>
        ControlSql.InProgressMerges(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table);

    public SqlStatement LatestMergeStatus(string? controlSchema, string owner, string table) =>
        ControlSql.LatestMergeStatus(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table);

    public SqlStatement MergeStatistics(string? controlSchema, string? table, int days) =>
        ControlSql.MergeStatistics(Control(controlSchema, "dwh_ilm_partition_merges"), table, days);

    public SqlStatement StaleFailedMerges(string? controlSchema, string? table, int days) =>
        ControlSql.StaleFailedMerges(Control(controlSchema, "dwh_ilm_partition_merges"), table, days);

    public SqlStatement InsertExecutionLog(string? controlSchema, ExecutionLogEntry e) =>
        ControlSql.InsertExecutionLog(Control(controlSchema, "dwh_ilm_execution_log"), e);
}
