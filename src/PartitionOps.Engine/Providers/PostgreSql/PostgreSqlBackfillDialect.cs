using System.Globalization;
using System.Text;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Providers.PostgreSql;

/// <summary>Backfill SQL for PostgreSQL 15+. Text only.</summary>
public sealed class PostgreSqlBackfillDialect : BackfillDialect
{
    /// <summary>NAMEDATALEN - 1: longer names are silently truncated by the server.</summary>
    public const int MaxIdentifierLength = 63;

    /// <summary>PostgreSQL has no lock escalation; row locks live in the tuples. The bound keeps one batch's WAL and lock
    /// time small.</summary>
    public override int SafeMaxBatchSize => 50_000;

    /// <summary>DESIGN §1: PostgreSQL 15+.</summary>
    public override MinimumServerVersion MinimumVersion { get; } = new(15, "PostgreSQL 15");

    private static string Q(string identifier) => Identifier.Quote(identifier, '"', '"');
    private static string Q(string schema, string name) => Q(schema) + "." + Q(name);
    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- control tables

    /// <summary>Serialized with other creators in the same schema (see <see cref="PostgreSqlControlSchema"/>): run in one
    /// transaction.</summary>
    public override IReadOnlyList<SqlStatement> CreateControlTables(string controlSchema)
    {
        var s = Q(controlSchema);
        return
        [
            .. PostgreSqlControlSchema.LockAndCreate(controlSchema),
            new($"""
                CREATE TABLE IF NOT EXISTS {s}.schema_version (
                    component text PRIMARY KEY,
                    version int NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """),
            new($"""
                CREATE TABLE IF NOT EXISTS {s}.backfill_run (
                    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    table_schema text NOT NULL,
                    table_name text NOT NULL,
                    column_name text NOT NULL,
                    direction text NOT NULL,
                    status text NOT NULL,
                    host text,
                    started_at timestamptz NOT NULL DEFAULT now(),
                    ended_at timestamptz,
                    options text)
                """),
            new($"""
                CREATE TABLE IF NOT EXISTS {s}.backfill_checkpoint (
                    run_id bigint NOT NULL REFERENCES {s}.backfill_run (run_id),
                    type_id int NOT NULL,
                    type_name text NOT NULL,
                    target_value int NOT NULL,
                    last_key bigint NOT NULL,
                    high_water_mark bigint,
                    estimated_rows bigint,
                    rows_scanned bigint NOT NULL DEFAULT 0,
                    rows_updated bigint NOT NULL DEFAULT 0,
                    batches bigint NOT NULL DEFAULT 0,
                    lock_waits bigint NOT NULL DEFAULT 0,
                    status text NOT NULL,
                    host text,
                    started_at timestamptz,
                    updated_at timestamptz,
                    completed_at timestamptz,
                    last_error text,
                    PRIMARY KEY (run_id, type_id))
                """),
            new($"""
                CREATE TABLE IF NOT EXISTS {s}.backfill_control (
                    table_schema text NOT NULL,
                    table_name text NOT NULL,
                    column_name text NOT NULL,
                    stop_requested boolean NOT NULL DEFAULT false,
                    requested_by text,
                    requested_at timestamptz,
                    PRIMARY KEY (table_schema, table_name, column_name))
                """),
            new($"INSERT INTO {s}.schema_version (component, version) VALUES ('backfill', 1) ON CONFLICT (component) DO NOTHING"),
        ];
    }

    public override SqlStatement ControlTablesExist(string controlSchema) => SqlStatement.Of(
        "SELECT CASE WHEN to_regclass(@relation) IS NULL THEN 0 ELSE 1 END",
        new SqlParameter("relation", Q(controlSchema, "backfill_run")));

    protected internal override SqlStatement InsertRunText(string controlSchema) => new($"""
        INSERT INTO {Q(controlSchema)}.backfill_run (table_schema, table_name, column_name, direction, status, host, options)
        VALUES (@table_schema, @table_name, @column_name, @direction, 'running', @host, @options)
        RETURNING run_id
        """);

    protected internal override SqlStatement LatestRunText(string controlSchema) => new($"""
        SELECT run_id, direction, status, host, started_at, ended_at
        FROM {Q(controlSchema)}.backfill_run
        WHERE table_schema = @table_schema AND table_name = @table_name AND column_name = @column_name
        ORDER BY run_id DESC
        LIMIT 1
        """);

    protected internal override SqlStatement SetRunStatusText(string controlSchema) => new($"""
        UPDATE {Q(controlSchema)}.backfill_run
        SET status = @status, host = @host, ended_at = CASE WHEN @ended = 1 THEN now() END
        WHERE run_id = @run_id
        """);

    protected internal override SqlStatement InsertCheckpointText(string controlSchema) => new($"""
        INSERT INTO {Q(controlSchema)}.backfill_checkpoint
            (run_id, type_id, type_name, target_value, last_key, high_water_mark, estimated_rows, status)
        VALUES (@run_id, @type_id, @type_name, @target_value, @last_key, @high_water_mark, @estimated_rows, 'pending')
        ON CONFLICT (run_id, type_id) DO NOTHING
        """);

    protected internal override SqlStatement ReadCheckpointsText(string controlSchema) => new($"""
        SELECT run_id, type_id, type_name, target_value, last_key, high_water_mark, estimated_rows,
               rows_scanned, rows_updated, batches, lock_waits, status, host,
               started_at, updated_at, completed_at, last_error
        FROM {Q(controlSchema)}.backfill_checkpoint
        WHERE run_id = @run_id
        ORDER BY type_name
        """);

    protected internal override SqlStatement UpdateCheckpointStatusText(string controlSchema) => new($"""
        UPDATE {Q(controlSchema)}.backfill_checkpoint
        SET status = @status, host = @host, high_water_mark = @high_water_mark, last_error = @last_error,
            updated_at = now(),
            -- Work resumed after a pause (or a final pass after waiting for the other types): the idle time does not
            -- count, so rows_scanned / (updated_at - started_at) stays the working rate.
            started_at = CASE WHEN started_at IS NULL THEN now()
                WHEN status IN ('paused', 'failed', 'pending', 'done') AND @status IN ('running', 'catch-up', 'sweep')
                    THEN started_at + (now() - updated_at)
                ELSE started_at END,
            completed_at = CASE WHEN @status = 'done' THEN now() ELSE completed_at END
        WHERE run_id = @run_id AND type_id = @type_id
        """);

    protected internal override SqlStatement AddLockWaitsText(string controlSchema) => new($"""
        UPDATE {Q(controlSchema)}.backfill_checkpoint
        SET lock_waits = lock_waits + @lock_waits, updated_at = now()
        WHERE run_id = @run_id AND type_id = @type_id
        """);

    protected internal override SqlStatement SetStopFlagText(string controlSchema) => new($"""
        INSERT INTO {Q(controlSchema)}.backfill_control (table_schema, table_name, column_name, stop_requested, requested_by, requested_at)
        VALUES (@table_schema, @table_name, @column_name, @stop_requested = 1, @requested_by, now())
        ON CONFLICT (table_schema, table_name, column_name)
        DO UPDATE SET stop_requested = EXCLUDED.stop_requested, requested_by = EXCLUDED.requested_by, requested_at = EXCLUDED.requested_at
        """);

    protected internal override SqlStatement ReadStopFlagText(string controlSchema) => new($"""
        SELECT COALESCE(max(CASE WHEN stop_requested THEN 1 ELSE 0 END), 0)
        FROM {Q(controlSchema)}.backfill_control
        WHERE table_schema = @table_schema AND table_name = @table_name AND column_name = @column_name
        """);

    // Session-level advisory locks: released when the session ends, so a killed runner frees its types.
    protected internal override SqlStatement TryAcquireAppLockText() =>
        new("SELECT CASE WHEN pg_try_advisory_lock(hashtextextended(@resource, 0)) THEN 1 ELSE 0 END");

    protected internal override SqlStatement ReleaseAppLockText() =>
        new("SELECT pg_advisory_unlock(hashtextextended(@resource, 0))");

    // ---------------------------------------------------------------- catalog

    public override SqlStatement ServerInfo() => new("""
        SELECT version() AS version,
               current_setting('server_version_num')::int / 10000 AS major_version,
               'PostgreSQL' AS edition,
               1 AS supports_online_index,
               0 AS supports_resumable_index,
               1 AS metadata_only_add_column
        """);

    protected internal override SqlStatement SchemaExistsText() => new("SELECT count(*)::int FROM pg_namespace WHERE nspname = @schema");

    protected internal override SqlStatement TableInfoText() => new("""
        SELECT CASE WHEN c.relkind = 'p' THEN 1 ELSE 0 END AS is_partitioned
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table AND c.relkind IN ('r', 'p')
        """);

    /// <summary>
    /// A view's base relations through its rewrite rule's dependencies (pg_depend on pg_rewrite), which, unlike
    /// information_schema.view_table_usage, does not leave out tables the current role does not own.
    /// https://www.postgresql.org/docs/current/catalog-pg-depend.html
    /// </summary>
    protected internal override SqlStatement ViewBaseTablesText() => new("""
        SELECT bn.nspname::text AS base_schema, b.relname::text AS base_table
        FROM pg_class v
        JOIN pg_namespace vn ON vn.oid = v.relnamespace
        JOIN pg_rewrite r ON r.ev_class = v.oid
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class b ON b.oid = d.refobjid AND b.oid <> v.oid AND b.relkind IN ('r', 'p', 'v', 'm', 'f')
        JOIN pg_namespace bn ON bn.oid = b.relnamespace
        WHERE vn.nspname = @schema AND v.relname = @table AND v.relkind IN ('v', 'm')
        GROUP BY bn.nspname, b.relname
        ORDER BY 1, 2
        """);

    /// <summary>reltuples of the table, or of every leaf below it (-1, never analyzed, counts as 0). pg_partition_tree
    /// returns nothing for a table that is not partitioned, hence the table itself besides; a partitioned table's own
    /// reltuples (set by ANALYZE since PostgreSQL 14) already sums its leaves, so only storage-owning relations count.</summary>
    protected internal override SqlStatement TableRowEstimateText() => new("""
        SELECT COALESCE(sum(greatest(c.reltuples, 0)), 0)::bigint AS table_rows
        FROM pg_class c
        WHERE c.relkind = 'r'
          AND (c.oid = format('%I.%I', @schema::text, @table::text)::regclass
               OR c.oid IN (SELECT t.relid FROM pg_partition_tree(format('%I.%I', @schema::text, @table::text)::regclass) AS t))
        """);

    /// <summary>PostgreSQL 11+ adds a column with a constant default by metadata alone, whatever the row width.</summary>
    public override int? OnlineAddColumnRowLimit => null;

    protected internal override SqlStatement MaxRowBytesText() => new("SELECT CAST(NULL AS int) AS max_row_bytes");

    /// <summary>
    /// CREATE INDEX CONCURRENTLY has no pause: cancelled, it leaves an invalid index that the next run drops and builds
    /// again from the start. https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    /// </summary>
    public override string? NotResumableReason(FilteredIndex index, IndexBuildOptions options) =>
        "a CONCURRENTLY build cannot be paused: if it is stopped, the next run drops the invalid index it left and builds it again";

    protected internal override SqlStatement ColumnsText() => new("""
        SELECT a.attname::text AS column_name,
               format_type(a.atttypid, NULL) AS data_type,
               CASE WHEN a.attnotnull THEN 0 ELSE 1 END AS is_nullable,
               pg_get_expr(d.adbin, d.adrelid) AS default_value
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = @schema AND c.relname = @table AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """);

    /// <summary>The table and everything below it in the partition tree.</summary>
    private const string PartitionTree = """
        WITH RECURSIVE tree AS (
            SELECT c.oid
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relname = @table
            UNION ALL
            SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
        """;

    /// <summary>Every partition at every depth with its parent: leaves ('r') and sub-partitioned tables ('p').</summary>
    protected internal override SqlStatement PartitionsText() => new("""
        WITH RECURSIVE tree AS (
            SELECT c.oid, 0 AS level
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relname = @table
            UNION ALL
            SELECT i.inhrelid, t.level + 1 FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
        SELECT n.nspname::text AS partition_schema, c.relname::text AS partition_name,
               pn.nspname::text AS parent_schema, p.relname::text AS parent_name,
               CASE WHEN c.relkind = 'r' THEN 1 ELSE 0 END AS is_leaf, t.level
        FROM tree t
        JOIN pg_class c ON c.oid = t.oid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_inherits h ON h.inhrelid = c.oid
        JOIN pg_class p ON p.oid = h.inhparent
        JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relispartition
        ORDER BY t.level, 1, 2
        """);

    protected internal override SqlStatement IndexesText() => new($"""
        {PartitionTree}
        SELECT n.nspname::text AS object_schema, c.relname::text AS object_name, i.relname::text AS index_name,
               CASE WHEN x.indisvalid THEN 1 ELSE 0 END AS is_valid, 0 AS is_paused, NULL::int AS paused_max_dop
        FROM tree t
        JOIN pg_index x ON x.indrelid = t.oid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class c ON c.oid = t.oid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        ORDER BY 1, 2, 3
        """);

    public override SqlStatement LookupTypes(BackfillTable table) => new($"""
        SELECT {Q(table.Profile.LookupIdColumn)}::int AS type_id, {Q(table.Profile.LookupNameColumn)}::text AS name
        FROM {Q(table.Schema, table.Profile.LookupTable)}
        """);

    /// <summary>
    /// Row estimates from each leaf's statistics (autovacuum analyzes leaves, never a partitioned parent):
    /// reltuples times the type's most-common-value frequency.
    /// </summary>
    protected internal override SqlStatement EstimatedRowsPerTypeText(BackfillTable table) => new($"""
        {PartitionTree}
        SELECT v.type_value::int AS type_id, sum(v.freq * greatest(c.reltuples, 0))::bigint AS estimated_rows
        FROM tree t
        JOIN pg_class c ON c.oid = t.oid AND c.relkind = 'r'
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = @type_column AND NOT s.inherited
        CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(type_value, freq)
        GROUP BY v.type_value
        """);

    /// <summary>
    /// CREATE SCHEMA IF NOT EXISTS checks CREATE on the database before it looks for the schema, so the
    /// creation skips it when the schema exists (see <see cref="CreateControlTables"/>); CREATE TABLE IF NOT
    /// EXISTS checks CREATE on the schema even when the table exists. So: no control schema, CREATE on the
    /// database; a schema that exists (e.g. created by a DBA), USAGE and CREATE on it. Each privilege is asked
    /// for on its own: has_*_privilege(..., 'A, B') is true when either is held.
    /// https://www.postgresql.org/docs/current/sql-createschema.html
    /// https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-INFO-ACCESS
    /// </summary>
    protected internal override SqlStatement PermissionsText() => new("""
        SELECT 'alter_table' AS permission,
               CASE WHEN pg_has_role(current_user, c.relowner, 'USAGE') THEN 1 ELSE 0 END AS granted,
               'ownership of the table (or membership in its owner role)' AS needs
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table
        UNION ALL
        SELECT 'update_table', CASE WHEN has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'UPDATE') THEN 1 ELSE 0 END,
               'SELECT and UPDATE on the table'
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table
        UNION ALL
        SELECT 'create_control_schema',
               CASE WHEN ns.oid IS NULL THEN CASE WHEN has_database_privilege(current_database(), 'CREATE') THEN 1 ELSE 0 END
                    ELSE CASE WHEN has_schema_privilege(ns.oid, 'USAGE') AND has_schema_privilege(ns.oid, 'CREATE') THEN 1 ELSE 0 END END,
               CASE WHEN ns.oid IS NULL THEN 'CREATE on the database (control schema ' || quote_ident(@control_schema) || ' does not exist yet)'
                    ELSE 'USAGE and CREATE on schema ' || quote_ident(@control_schema) || ' (it exists)' END
        FROM (SELECT (SELECT oid FROM pg_namespace WHERE nspname = @control_schema) AS oid) AS ns
        """);

    public override SqlStatement ThrottleSignals() => new("""
        SELECT 'replica_lag_seconds' AS signal,
               COALESCE(max(extract(epoch FROM replay_lag)), 0)::float8 AS value
        FROM pg_stat_replication
        UNION ALL
        SELECT 'blocked_by_us', count(*)::float8
        FROM pg_stat_activity w
        WHERE w.pid <> pg_backend_pid()
          AND EXISTS (SELECT 1 FROM pg_stat_activity b
                      WHERE b.pid = ANY (pg_blocking_pids(w.pid)) AND b.application_name LIKE 'partitionops%')
        """);

    // ---------------------------------------------------------------- phase 1 and 2

    public override SqlStatement SetLockTimeout(TimeSpan timeout) =>
        new($"SET lock_timeout = '{Int((long)Math.Max(1, timeout.TotalMilliseconds))}ms'");

    /// <summary>PostgreSQL 11+ stores a constant default in the catalog: no rewrite, no scan.</summary>
    public override SqlStatement AddPartitionColumn(BackfillTable table) => new(
        $"ALTER TABLE {Q(table.Schema, table.Table)} ADD COLUMN IF NOT EXISTS {Q(table.Profile.PartitionColumn)} " +
        $"{table.Profile.PartitionColumnType.ToLowerInvariant()} NOT NULL DEFAULT {Int(table.Profile.DefaultValue)}");

    public override IReadOnlyList<SqlStatement> BuildFilteredIndex(BackfillTable table, FilteredIndex index,
        IReadOnlyList<IndexState> existing, IReadOnlyList<TablePartition> partitions, IndexBuildOptions options)
    {
        if (index.Name.Length > MaxIdentifierLength)
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "index name", index.Name,
                $"is longer than PostgreSQL's {MaxIdentifierLength} characters");

        // INCLUDE (PostgreSQL 11+) stores the columns in the leaf entries without making them part of the key.
        // https://www.postgresql.org/docs/current/sql-createindex.html
        var columns = string.Join(", ", index.Columns.Select(Q)) +
                      (index.Include.Count > 0 ? $") INCLUDE ({string.Join(", ", index.Include.Select(Q))}" : "");
        var where = $"WHERE {Q(table.Profile.PartitionColumn)} = {Int(index.FilterValue)}" +
                    string.Concat(index.Where.Select(c => $" AND {Q(c.Column)} = {Literal(c)}"));
        var unique = index.Unique ? "UNIQUE " : "";
        var onTable = existing.FirstOrDefault(e =>
            e.ObjectSchema == table.Schema && e.ObjectName == table.Table && e.IndexName == index.Name);
        var statements = new List<SqlStatement>();

        if (partitions.Count == 0)
        {
            if (onTable is { IsValid: true }) return statements;
            // A failed CONCURRENTLY build leaves an invalid index that IF NOT EXISTS would keep: drop it first.
            if (onTable is { IsValid: false })
                statements.Add(new($"DROP INDEX CONCURRENTLY IF EXISTS {Q(table.Schema, index.Name)}"));
            statements.Add(new($"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {Q(index.Name)} " +
                               $"ON {Q(table.Schema, table.Table)} ({columns}) {where}"));
            return statements;
        }

        // Partitioned: CONCURRENTLY is refused on a partitioned table, so the table and every sub-partitioned
        // partition get an index ON ONLY themselves (invalid until complete), each leaf partition its own index
        // built concurrently, and every index is attached to its parent's, bottom-up: a partitioned index turns
        // valid when its last partition's index is attached, which in turn validates the one above it.
        // https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE
        if (onTable is { IsValid: true }) return statements;
        if (onTable is null)
            statements.Add(new($"CREATE {unique}INDEX IF NOT EXISTS {Q(index.Name)} " +
                               $"ON ONLY {Q(table.Schema, table.Table)} ({columns}) {where}"));

        var byName = partitions.ToDictionary(p => (p.Schema, p.Name));
        IndexState? State(TablePartition p) => existing.FirstOrDefault(e =>
            e.ObjectSchema == p.Schema && e.ObjectName == p.Name && e.IndexName == PartitionIndexName(index.Name, p));
        // The index a partition's index attaches to: the table's, or its sub-partitioned parent's.
        string ParentIndex(TablePartition p) =>
            p.ParentName is null || (p.ParentSchema == table.Schema && p.ParentName == table.Table)
                ? Q(table.Schema, index.Name)
                : Q(p.ParentSchema!, PartitionIndexName(index.Name, new TablePartition(p.ParentSchema!, p.ParentName)));
        // Below a sub-partitioned table whose index is valid, everything is built and attached already.
        bool Covered(TablePartition p)
        {
            for (var up = p; up.ParentName is { } name && byName.TryGetValue((up.ParentSchema!, name), out var parent); up = parent)
                if (State(parent) is { IsValid: true }) return true;
            return false;
        }
        var work = partitions.Where(p => !Covered(p)).ToList();

        foreach (var sub in work.Where(p => !p.IsLeaf).OrderBy(p => p.Level))
            if (State(sub) is null)
                statements.Add(new($"CREATE {unique}INDEX IF NOT EXISTS {Q(PartitionIndexName(index.Name, sub))} " +
                                   $"ON ONLY {Q(sub.Schema, sub.Name)} ({columns}) {where}"));
        foreach (var leaf in work.Where(p => p.IsLeaf))
        {
            var childName = PartitionIndexName(index.Name, leaf);
            var child = State(leaf);
            // A failed CONCURRENTLY build leaves an invalid index, never attached: drop it and build again.
            if (child is { IsValid: false })
                statements.Add(new($"DROP INDEX CONCURRENTLY IF EXISTS {Q(leaf.Schema, childName)}"));
            if (child is not { IsValid: true })
                statements.Add(new($"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {Q(childName)} " +
                                   $"ON {Q(leaf.Schema, leaf.Name)} ({columns}) {where}"));
            // Attaching an index that is already attached to this parent does nothing.
            statements.Add(new($"ALTER INDEX {ParentIndex(leaf)} ATTACH PARTITION {Q(leaf.Schema, childName)}"));
        }
        // Deepest first: each sub-partitioned table's index is complete before it is attached above (a valid one
        // that a stopped run left unattached is attached here too; its own partitions are covered).
        foreach (var sub in work.Where(p => !p.IsLeaf).OrderByDescending(p => p.Level)
                     .ThenBy(p => p.Schema, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal))
            statements.Add(new($"ALTER INDEX {ParentIndex(sub)} ATTACH PARTITION {Q(sub.Schema, PartitionIndexName(index.Name, sub))}"));
        return statements;
    }

    /// <summary>A condition's value: PostgreSQL has boolean literals for a boolean column.</summary>
    private static string Literal(IndexCondition c) => c.IsBoolean ? (c.Value != 0 ? "true" : "false") : Int(c.Value);

    /// <summary>
    /// A partition's index name: the parent index's name cut to fit, plus a stable hash of the whole index name and the
    /// partition, so names never collide after PostgreSQL's 63-character truncation, neither between partitions nor between
    /// two indexes whose names only differ past the cut (IX_..._ResourceId and IX_..._ResourceId_Version).
    /// </summary>
    public static string PartitionIndexName(string indexName, TablePartition partition)
    {
        uint hash = 2166136261; // FNV-1a: stable across processes, unlike string.GetHashCode
        foreach (var b in Encoding.UTF8.GetBytes(indexName + "@" + partition.Schema + "." + partition.Name)) hash = (hash ^ b) * 16777619;
        var stem = indexName.Length > 54 ? indexName[..54] : indexName;
        return $"{stem}_{hash:x8}";
    }

    // ---------------------------------------------------------------- phase 3

    protected internal override SqlStatement HighWaterMarkText(BackfillTable table) => new(
        $"SELECT max({Q(table.Profile.KeyColumn)})::bigint FROM {Q(table.Schema, table.Table)} " +
        $"WHERE {Q(table.Profile.TypeColumn)} = @type_id");

    /// <remarks>
    /// The range end is a scalar subquery, not a join: PostgreSQL turns it into an InitPlan parameter that
    /// bounds the index scan, so each batch reads only its own range (a join condition would only filter,
    /// and every batch would scan to the end of the type).
    /// </remarks>
    protected internal override SqlStatement BatchText(BackfillTable table)
    {
        var p = table.Profile;
        return new($"""
            WITH next_range AS (
                SELECT max(k) AS range_end, count(*)::int AS rows_scanned
                FROM (SELECT {Q(p.KeyColumn)} AS k
                      FROM {Q(table.Schema, table.Table)}
                      WHERE {Q(p.TypeColumn)} = @type_id AND {Q(p.KeyColumn)} > @last_key AND {Q(p.KeyColumn)} <= @high_water_mark
                      ORDER BY {Q(p.KeyColumn)}
                      LIMIT @batch_size) AS next_keys),
            updated AS (
                UPDATE {Q(table.Schema, table.Table)} AS r
                SET {Q(p.PartitionColumn)} = @target_value
                WHERE r.{Q(p.TypeColumn)} = @type_id AND r.{Q(p.KeyColumn)} > @last_key
                  AND r.{Q(p.KeyColumn)} <= (SELECT range_end FROM next_range)
                  AND r.{Q(p.PartitionColumn)} <> @target_value
                RETURNING 1),
            counted AS (SELECT count(*)::int AS rows_updated FROM updated),
            checkpoint AS (
                UPDATE {Q(table.ControlSchema)}.backfill_checkpoint AS c
                SET last_key = next_range.range_end, rows_scanned = c.rows_scanned + next_range.rows_scanned,
                    rows_updated = c.rows_updated + counted.rows_updated, batches = c.batches + 1, updated_at = now()
                FROM next_range, counted
                WHERE c.run_id = @run_id AND c.type_id = @type_id AND next_range.range_end IS NOT NULL)
            SELECT next_range.range_end, next_range.rows_scanned, counted.rows_updated
            FROM next_range, counted
            """);
    }

    protected internal override SqlStatement SweepText(BackfillTable table)
    {
        var p = table.Profile;
        return new($"""
            WITH stragglers AS (
                SELECT {Q(p.KeyColumn)} AS k
                FROM {Q(table.Schema, table.Table)}
                WHERE {Q(p.TypeColumn)} = @type_id AND {Q(p.KeyColumn)} <= @upto_key AND {Q(p.PartitionColumn)} = @source_value
                -- In the filtered indexes' order, so the planner reads the one of @source_value (it holds only the stragglers
                -- of a walked type) even with statistics from before the walk; in key order it walks the primary key
                -- through every row of the type again, on every sweep. Any order will do: each batch takes what is left.
                ORDER BY {string.Join(", ", p.IndexColumns.Select(Q))}
                LIMIT @batch_size),
            updated AS (
                UPDATE {Q(table.Schema, table.Table)} AS r
                SET {Q(p.PartitionColumn)} = @target_value
                FROM stragglers
                WHERE r.{Q(p.TypeColumn)} = @type_id AND r.{Q(p.KeyColumn)} = stragglers.k AND r.{Q(p.PartitionColumn)} = @source_value
                RETURNING 1),
            counted AS (SELECT count(*)::int AS rows_updated FROM updated),
            checkpoint AS (
                UPDATE {Q(table.ControlSchema)}.backfill_checkpoint AS c
                SET rows_updated = c.rows_updated + counted.rows_updated, batches = c.batches + 1, updated_at = now()
                FROM counted
                WHERE c.run_id = @run_id AND c.type_id = @type_id AND counted.rows_updated > 0)
            SELECT counted.rows_updated FROM counted
            """);
    }

    // ---------------------------------------------------------------- progress and validation

    protected internal override SqlStatement ExactCountsText(BackfillTable table)
    {
        var p = table.Profile;
        var col = Q(p.PartitionColumn);
        return new($"""
            SELECT {Q(p.TypeColumn)}::int AS type_id, count(*) AS total_rows,
                   count(*) FILTER (WHERE {col} = @system_value) AS system_rows,
                   count(*) FILTER (WHERE {col} = @default_value) AS default_rows
            FROM {Q(table.Schema, table.Table)}
            GROUP BY {Q(p.TypeColumn)}
            """);
    }

    protected internal override SqlStatement MisplacedText(BackfillTable table, int systemTypeCount)
    {
        if (systemTypeCount < 1) throw new ArgumentOutOfRangeException(nameof(systemTypeCount));
        var p = table.Profile;
        var type = Q(p.TypeColumn);
        var col = Q(p.PartitionColumn);
        var ids = string.Join(", ", Enumerable.Range(0, systemTypeCount).Select(i => $"@sys_{i}"));
        return new($"""
            SELECT {type}::int AS type_id, count(*) AS misplaced_rows
            FROM {Q(table.Schema, table.Table)}
            WHERE ({type} IN ({ids}) AND {col} <> @system_value)
               OR ({type} NOT IN ({ids}) AND {col} <> @default_value)
            GROUP BY {type}
            """);
    }

    protected internal override SqlStatement MisplacedSinceRunText(BackfillTable table, int systemTypeCount)
    {
        if (systemTypeCount < 1) throw new ArgumentOutOfRangeException(nameof(systemTypeCount));
        var p = table.Profile;
        var type = "r." + Q(p.TypeColumn);
        var col = "r." + Q(p.PartitionColumn);
        var ids = string.Join(", ", Enumerable.Range(0, systemTypeCount).Select(i => $"@sys_{i}"));
        return new($"""
            SELECT {type}::int AS type_id, count(*) AS misplaced_rows,
                   count(*) FILTER (WHERE r.{Q(p.KeyColumn)} > c.high_water_mark) AS written_after_run
            FROM {Q(table.Schema, table.Table)} AS r
            LEFT JOIN {Q(table.ControlSchema)}.backfill_checkpoint AS c ON c.run_id = @run_id AND c.type_id = {type}
            WHERE ({type} IN ({ids}) AND {col} <> @system_value)
               OR ({type} NOT IN ({ids}) AND {col} <> @default_value)
            GROUP BY {type}
            """);
    }
}
