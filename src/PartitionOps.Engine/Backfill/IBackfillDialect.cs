using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// Backfill SQL for one database engine. It only builds statements: the engine runs them and never branches
/// on the database. Result columns are named exactly as documented here (lower case) on every engine.
/// Typed like the ILM dialect: each method takes the values its statement needs and returns it ready to run,
/// its parameters bound (the "Params" listed per method are the <see cref="IDatabaseProvider.ParameterMarker"/>
/// names the text references; <see cref="BackfillDialect"/> binds them once for every engine).
/// Identifiers come validated; the dialect quotes every one.
/// </summary>
public interface IBackfillDialect
{
    /// <summary>The largest batch the controller may grow to on this engine (SQL Server: below lock escalation).</summary>
    int SafeMaxBatchSize { get; }

    /// <summary>The oldest release the backfill supports on this engine (DESIGN §1), checked by the pre-flight.</summary>
    MinimumServerVersion MinimumVersion { get; }

    // ---------------------------------------------------------------- control tables

    /// <summary>
    /// Idempotent DDL creating the control schema and tables (safe to run on every start):
    /// schema_version(version int, applied_at), backfill_run(run_id identity, table_schema, table_name,
    /// column_name, direction, status, host, started_at, ended_at, options), backfill_checkpoint(run_id,
    /// type_id, type_name, target_value, last_key, high_water_mark, estimated_rows, rows_scanned,
    /// rows_updated, batches, lock_waits, status, host, started_at, updated_at, completed_at, last_error;
    /// primary key (run_id, type_id)), backfill_control(table_schema, table_name, column_name,
    /// stop_requested, requested_by, requested_at; primary key of the first three). The engine runs the
    /// statements in one transaction, in order; the dialect serializes concurrent creators (an application lock
    /// on <see cref="ControlTables.CreationLock"/> taken first, held to the end of the transaction), so two
    /// first-time runners never race on the catalog.
    /// </summary>
    IReadOnlyList<SqlStatement> CreateControlTables(string controlSchema);

    /// <summary>Scalar int: 1 when backfill_run exists in the control schema, else 0. Params: none.</summary>
    SqlStatement ControlTablesExist(string controlSchema);

    /// <summary>Inserts a run with status 'running'; scalar bigint: the new run_id.
    /// Params: table_schema, table_name, column_name, direction, host, options (text).</summary>
    SqlStatement InsertRun(BackfillTable table, string direction, string host, string options);

    /// <summary>The newest run of a table's column (at most one row): run_id, direction, status, host,
    /// started_at, ended_at. Params: table_schema, table_name, column_name.</summary>
    SqlStatement LatestRun(BackfillTable table);

    /// <summary>Sets a run's status; ended_at = now when ended = 1 (else null), host = @host.
    /// Params: run_id, status, ended (int 0/1), host.</summary>
    SqlStatement SetRunStatus(string controlSchema, long runId, string status, bool ended, string host);

    /// <summary>Inserts one checkpoint row with status 'pending' and zero counters, unless (run_id, type_id)
    /// exists. Params: run_id, type_id, type_name, target_value, last_key, high_water_mark, estimated_rows.</summary>
    SqlStatement InsertCheckpoint(string controlSchema, long runId, ResolvedType type, int targetValue, long lastKey,
        long? highWaterMark, long? estimatedRows);

    /// <summary>All checkpoints of a run ordered by type_name: run_id, type_id, type_name, target_value,
    /// last_key, high_water_mark, estimated_rows, rows_scanned, rows_updated, batches, lock_waits, status,
    /// host, started_at, updated_at, completed_at, last_error. Params: run_id.</summary>
    SqlStatement ReadCheckpoints(string controlSchema, long runId);

    /// <summary>Sets status, host, high_water_mark, last_error and updated_at = now; started_at = now when
    /// still null, and moved forward by the idle time (now - updated_at) when work resumes (from 'paused', 'failed',
    /// 'pending' or 'done' to 'running', 'catch-up' or 'sweep'), so progress rates leave pauses out; completed_at = now
    /// when status is 'done' (else unchanged). Params: run_id, type_id, status, host, high_water_mark, last_error.</summary>
    SqlStatement UpdateCheckpointStatus(string controlSchema, long runId, int typeId, string status, string host,
        long highWaterMark, string? lastError);

    /// <summary>Adds @lock_waits to lock_waits and sets updated_at. Params: run_id, type_id, lock_waits.</summary>
    SqlStatement AddLockWaits(string controlSchema, long runId, int typeId, long lockWaits);

    /// <summary>Upserts backfill_control. Params: table_schema, table_name, column_name, stop_requested (int), requested_by.</summary>
    SqlStatement SetStopFlag(BackfillTable table, bool stop, string requestedBy);

    /// <summary>Scalar int: 1 when a stop is requested, else 0 (also 0 when no row).
    /// Params: table_schema, table_name, column_name.</summary>
    SqlStatement ReadStopFlag(BackfillTable table);

    /// <summary>Scalar int 1 when the session-level application lock named @resource was taken now,
    /// 0 when another session holds it (never waits). Params: resource.</summary>
    SqlStatement TryAcquireAppLock(string resource);

    /// <summary>Releases the session-level lock taken by <see cref="TryAcquireAppLock"/>. Params: resource.</summary>
    SqlStatement ReleaseAppLock(string resource);

    // ---------------------------------------------------------------- catalog

    /// <summary>One row: version (text), major_version (int; null where the service has no version of its own, as
    /// Azure SQL), edition (text), supports_online_index (int), supports_resumable_index (int),
    /// metadata_only_add_column (int: 1 when adding a NOT NULL column with a constant default changes only metadata).
    /// Params: none.</summary>
    SqlStatement ServerInfo();

    /// <summary>Scalar int 1 when the schema exists. Params: schema.</summary>
    SqlStatement SchemaExists(string schema);

    /// <summary>Zero rows when the table does not exist, else one row: is_partitioned (int). Params: schema, table.</summary>
    SqlStatement TableInfo(string schema, string table);

    /// <summary>Zero rows unless @schema.@table is a view; then one row per table (or view) it reads: base_schema,
    /// base_table, ordered. Lets "table does not exist" say what the name is instead. Params: schema, table.</summary>
    SqlStatement ViewBaseTables(string schema, string table);

    /// <summary>Scalar bigint: the table's rows from the catalog (no scan), all partitions. Params: schema, table.</summary>
    SqlStatement TableRowEstimate(string schema, string table);

    /// <summary>One row: max_row_bytes (int): the largest a row of the table can be by its column definitions, where the
    /// engine cannot add a column online past a row-size limit; null where it has no such limit. Params: schema, table.</summary>
    SqlStatement MaxRowBytes(string schema, string table);

    /// <summary>The row-size limit past which a column cannot be added online (null where there is none).</summary>
    int? OnlineAddColumnRowLimit { get; }

    /// <summary>Columns of a table: column_name, data_type (engine's base type name, lower case), is_nullable (int),
    /// default_value (text, null when none). Params: schema, table.</summary>
    SqlStatement Columns(string schema, string table);

    /// <summary>Every partition below the table, at every level (PostgreSQL: leaves need their own index build,
    /// sub-partitioned ones an index of their own to attach them to), ordered by level, then schema and name:
    /// partition_schema, partition_name, parent_schema, parent_name (the partitioned table it belongs to),
    /// is_leaf (int: 1 owns storage, 0 is sub-partitioned), level (int: 1 for the table's own partitions).
    /// Engines whose indexes span partitions return no rows. Params: schema, table.</summary>
    SqlStatement Partitions(string schema, string table);

    /// <summary>Every index on the table and (PostgreSQL) on its partitions: object_schema, object_name,
    /// index_name, is_valid (int), is_paused (int: a paused resumable build), paused_max_dop (int, null unless paused:
    /// the MAXDOP it must resume with). The dialect's
    /// <see cref="BuildFilteredIndex"/> picks out the ones it named. Params: schema, table.</summary>
    SqlStatement Indexes(string schema, string table);

    /// <summary>The lookup table: type_id (int), name (text). Params: none.</summary>
    SqlStatement LookupTypes(BackfillTable table);

    /// <summary>Catalog (statistics) estimates, no table scan: type_id, estimated_rows (bigint). Types
    /// missing from the result have no estimate. Params: schema, table, type_column (the profile's).</summary>
    SqlStatement EstimatedRowsPerType(BackfillTable table);

    /// <summary>What the connected login may do: permission (text), granted (int), needs (text: what to grant
    /// when it is missing). Must include 'alter_table', 'update_table', 'create_control_schema' (what creating
    /// or using the control tables takes given what exists: a control schema a DBA created needs no right to
    /// create schemas). Params: schema, table, control_schema.</summary>
    SqlStatement Permissions(BackfillTable table);

    /// <summary>Current throttle signals: signal (text), value (float). Signals: 'replica_lag_seconds',
    /// 'blocked_by_us' (sessions waiting on a session whose application name starts with 'partitionops'),
    /// and on SQL Server 'log_used_percent'. Params: none.</summary>
    SqlStatement ThrottleSignals();

    // ---------------------------------------------------------------- phase 1 and 2

    /// <summary>Session lock timeout for the DDL and DML that follow.</summary>
    SqlStatement SetLockTimeout(TimeSpan timeout);

    /// <summary>Adds the partition column NOT NULL with its default, metadata-only (no WITH CHECK, no scan).</summary>
    SqlStatement AddPartitionColumn(BackfillTable table);

    /// <summary>
    /// Statements that bring one filtered unique index to a valid state given what the catalog holds now:
    /// nothing when it is valid everywhere; resume a paused build; rebuild an invalid one; on a partitioned
    /// PostgreSQL table build per leaf partition CONCURRENTLY, give every sub-partitioned table an index ON ONLY
    /// it, and attach each index to its parent's, bottom-up. Each statement runs on its own, outside any transaction.
    /// </summary>
    IReadOnlyList<SqlStatement> BuildFilteredIndex(BackfillTable table, FilteredIndex index,
        IReadOnlyList<IndexState> existing, IReadOnlyList<TablePartition> partitions, IndexBuildOptions options);

    /// <summary>Null when the build of <paramref name="index"/> can be paused and resumed; else why not (for the
    /// pre-flight, the dry run and the time box, which does not start such a build it cannot finish in time).</summary>
    string? NotResumableReason(FilteredIndex index, IndexBuildOptions options);

    // ---------------------------------------------------------------- phase 3

    /// <summary>Scalar bigint: the highest key of a type now (null when none). Params: type_id.</summary>
    SqlStatement HighWaterMark(BackfillTable table, int typeId);

    /// <summary>
    /// One batch, atomic: take the next @batch_size keys of type @type_id above @last_key and at most
    /// @high_water_mark; set the partition column to @target_value on those whose value differs; advance
    /// the checkpoint (run_id, type_id) in the same transaction: last_key = range end, rows_scanned,
    /// rows_updated and batches added, updated_at = now. Returns one row: range_end (bigint, null when no
    /// key was left), rows_scanned (int), rows_updated (int). Params: run_id, type_id, last_key,
    /// high_water_mark, batch_size, target_value.
    /// </summary>
    SqlStatement Batch(BackfillTable table, long runId, int typeId, long lastKey, long highWaterMark, int batchSize,
        int targetValue);

    /// <summary>
    /// Stragglers: up to @batch_size rows of @type_id with key &lt;= @upto_key whose value is still
    /// @source_value (rows inserted behind the walk), set to @target_value in one transaction with the
    /// checkpoint's rows_updated. Matching on equality lets the filtered index of the source partition
    /// find them without a scan. One row: rows_updated (int).
    /// Params: run_id, type_id, upto_key, batch_size, target_value, source_value.
    /// </summary>
    SqlStatement Sweep(BackfillTable table, long runId, int typeId, long uptoKey, int batchSize, int targetValue,
        int sourceValue);

    // ---------------------------------------------------------------- progress and validation

    /// <summary>Exact counts (a scan): type_id, total_rows, system_rows (= system value), default_rows
    /// (= default value), grouped by type. Params: system_value, default_value (the profile's).</summary>
    SqlStatement ExactCounts(BackfillTable table);

    /// <summary>The spec's two health checks in one scan: type_id, misplaced_rows, for every type that has
    /// rows not at their expected value (system types: system value; others: default value).
    /// Params: system_value, default_value (the profile's), and the system type ids as sys_0, sys_1 ...
    /// (<paramref name="systemTypeIds"/>, at least one).</summary>
    SqlStatement Misplaced(BackfillTable table, IReadOnlyList<int> systemTypeIds);

    /// <summary>
    /// <see cref="Misplaced"/> told apart against a run's checkpoints (control schema of <paramref name="table"/>):
    /// type_id, misplaced_rows, written_after_run (bigint: those of them whose key is above the type's high-water
    /// mark in run @run_id, i.e. written after the run last looked at that type). Same scan, plus a join to the
    /// run's few checkpoint rows. Params: run_id, system_value, default_value, sys_0, sys_1 ...</summary>
    SqlStatement MisplacedSinceRun(BackfillTable table, IReadOnlyList<int> systemTypeIds, long runId);
}
