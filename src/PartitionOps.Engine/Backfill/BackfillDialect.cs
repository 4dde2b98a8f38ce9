using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// The typed half of every <see cref="IBackfillDialect"/>: each method takes the values its statement needs and
/// returns it ready to run, its parameters bound here, once for every engine (the names below are the ones the
/// dialects' text references with <see cref="IDatabaseProvider.ParameterMarker"/>). A dialect only writes the text,
/// in the protected <c>...Text</c> methods.
/// </summary>
public abstract class BackfillDialect : IBackfillDialect
{
    public abstract int SafeMaxBatchSize { get; }
    public abstract MinimumServerVersion MinimumVersion { get; }
    public abstract int? OnlineAddColumnRowLimit { get; }

    // ---------------------------------------------------------------- written by each dialect, bound as they are

    public abstract IReadOnlyList<SqlStatement> CreateControlTables(string controlSchema);
    public abstract SqlStatement ControlTablesExist(string controlSchema);
    public abstract SqlStatement ServerInfo();
    public abstract SqlStatement LookupTypes(BackfillTable table);
    public abstract SqlStatement ThrottleSignals();
    public abstract SqlStatement SetLockTimeout(TimeSpan timeout);
    public abstract SqlStatement AddPartitionColumn(BackfillTable table);
    public abstract IReadOnlyList<SqlStatement> BuildFilteredIndex(BackfillTable table, FilteredIndex index,
        IReadOnlyList<IndexState> existing, IReadOnlyList<TablePartition> partitions, IndexBuildOptions options);
    public abstract string? NotResumableReason(FilteredIndex index, IndexBuildOptions options);

    // ---------------------------------------------------------------- control tables

    public SqlStatement InsertRun(BackfillTable table, string direction, string host, string options) =>
        InsertRunText(table.ControlSchema).With(TableKey(table))
            .With(new("direction", direction), new("host", host), new("options", options));

    public SqlStatement LatestRun(BackfillTable table) => LatestRunText(table.ControlSchema).With(TableKey(table));

    public SqlStatement SetRunStatus(string controlSchema, long runId, string status, bool ended, string host) =>
        SetRunStatusText(controlSchema).With(new("run_id", runId), new("status", status), new("ended", ended ? 1 : 0), new("host", host));

    public SqlStatement InsertCheckpoint(string controlSchema, long runId, ResolvedType type, int targetValue, long lastKey,
        long? highWaterMark, long? estimatedRows) =>
        InsertCheckpointText(controlSchema).With(
            new("run_id", runId), new("type_id", type.Id), new("type_name", type.Name), new("target_value", targetValue),
            new("last_key", lastKey), new("high_water_mark", highWaterMark), new("estimated_rows", estimatedRows));

    public SqlStatement ReadCheckpoints(string controlSchema, long runId) => ReadCheckpointsText(controlSchema).With("run_id", runId);

    public SqlStatement UpdateCheckpointStatus(string controlSchema, long runId, int typeId, string status, string host,
        long highWaterMark, string? lastError) =>
        UpdateCheckpointStatusText(controlSchema).With(
            new("run_id", runId), new("type_id", typeId), new("status", status), new("host", host),
            new("high_water_mark", highWaterMark), new("last_error", lastError));

    public SqlStatement AddLockWaits(string controlSchema, long runId, int typeId, long lockWaits) =>
        AddLockWaitsText(controlSchema).With(new("run_id", runId), new("type_id", typeId), new("lock_waits", lockWaits));

    public SqlStatement SetStopFlag(BackfillTable table, bool stop, string requestedBy) =>
        SetStopFlagText(table.ControlSchema).With(TableKey(table))
            .With(new("stop_requested", stop ? 1 : 0), new("requested_by", requestedBy));

    public SqlStatement ReadStopFlag(BackfillTable table) => ReadStopFlagText(table.ControlSchema).With(TableKey(table));

    public SqlStatement TryAcquireAppLock(string resource) => TryAcquireAppLockText().With("resource", resource);

    public SqlStatement ReleaseAppLock(string resource) => ReleaseAppLockText().With("resource", resource);

    // ---------------------------------------------------------------- catalog

    public SqlStatement SchemaExists(string schema) => SchemaExistsText().With("schema", schema);
    public SqlStatement TableInfo(string schema, string table) => TableInfoText().With(Named(schema, table));
    public SqlStatement ViewBaseTables(string schema, string table) => ViewBaseTablesText().With(Named(schema, table));
    public SqlStatement TableRowEstimate(string schema, string table) => TableRowEstimateText().With(Named(schema, table));
    public SqlStatement MaxRowBytes(string schema, string table) => MaxRowBytesText().With(Named(schema, table));
    public SqlStatement Columns(string schema, string table) => ColumnsText().With(Named(schema, table));
    public SqlStatement Partitions(string schema, string table) => PartitionsText().With(Named(schema, table));
    public SqlStatement Indexes(string schema, string table) => IndexesText().With(Named(schema, table));

    public SqlStatement EstimatedRowsPerType(BackfillTable table) =>
        EstimatedRowsPerTypeText(table).With(Named(table.Schema, table.Table)).With("type_column", table.Profile.TypeColumn);

    public SqlStatement Permissions(BackfillTable table) =>
        PermissionsText().With(Named(table.Schema, table.Table)).With("control_schema", table.ControlSchema);

    // ---------------------------------------------------------------- phase 3

    public SqlStatement HighWaterMark(BackfillTable table, int typeId) => HighWaterMarkText(table).With("type_id", typeId);

    public SqlStatement Batch(BackfillTable table, long runId, int typeId, long lastKey, long highWaterMark, int batchSize,
        int targetValue) =>
        BatchText(table).With(
            new("run_id", runId), new("type_id", typeId), new("last_key", lastKey), new("high_water_mark", highWaterMark),
            new("batch_size", batchSize), new("target_value", targetValue));

    public SqlStatement Sweep(BackfillTable table, long runId, int typeId, long uptoKey, int batchSize, int targetValue,
        int sourceValue) =>
        SweepText(table).With(
            new("run_id", runId), new("type_id", typeId), new("upto_key", uptoKey), new("batch_size", batchSize),
            new("target_value", targetValue), new("source_value", sourceValue));

    // ---------------------------------------------------------------- progress and validation

    public SqlStatement ExactCounts(BackfillTable table) => ExactCountsText(table).With(Values(table));

    public SqlStatement Misplaced(BackfillTable table, IReadOnlyList<int> systemTypeIds) =>
        MisplacedText(table, systemTypeIds.Count).With(Values(table)).With(SystemTypes(systemTypeIds));

    public SqlStatement MisplacedSinceRun(BackfillTable table, IReadOnlyList<int> systemTypeIds, long runId) =>
        MisplacedSinceRunText(table, systemTypeIds.Count).With("run_id", runId).With(Values(table)).With(SystemTypes(systemTypeIds));

    // ---------------------------------------------------------------- the text, per engine (parameters as documented on IBackfillDialect)

    protected internal abstract SqlStatement InsertRunText(string controlSchema);
    protected internal abstract SqlStatement LatestRunText(string controlSchema);
    protected internal abstract SqlStatement SetRunStatusText(string controlSchema);
    protected internal abstract SqlStatement InsertCheckpointText(string controlSchema);
    protected internal abstract SqlStatement ReadCheckpointsText(string controlSchema);
    protected internal abstract SqlStatement UpdateCheckpointStatusText(string controlSchema);
    protected internal abstract SqlStatement AddLockWaitsText(string controlSchema);
    protected internal abstract SqlStatement SetStopFlagText(string controlSchema);
    protected internal abstract SqlStatement ReadStopFlagText(string controlSchema);
    protected internal abstract SqlStatement TryAcquireAppLockText();
    protected internal abstract SqlStatement ReleaseAppLockText();
    protected internal abstract SqlStatement SchemaExistsText();
    protected internal abstract SqlStatement TableInfoText();
    protected internal abstract SqlStatement ViewBaseTablesText();
    protected internal abstract SqlStatement TableRowEstimateText();
    protected internal abstract SqlStatement MaxRowBytesText();
    protected internal abstract SqlStatement ColumnsText();
    protected internal abstract SqlStatement PartitionsText();
    protected internal abstract SqlStatement IndexesText();
    protected internal abstract SqlStatement EstimatedRowsPerTypeText(BackfillTable table);
    protected internal abstract SqlStatement PermissionsText();
    protected internal abstract SqlStatement HighWaterMarkText(BackfillTable table);
    protected internal abstract SqlStatement BatchText(BackfillTable table);
    protected internal abstract SqlStatement SweepText(BackfillTable table);
    protected internal abstract SqlStatement ExactCountsText(BackfillTable table);
    protected internal abstract SqlStatement MisplacedText(BackfillTable table, int systemTypeCount);
    protected internal abstract SqlStatement MisplacedSinceRunText(BackfillTable table, int systemTypeCount);

    private static SqlParameter[] TableKey(BackfillTable table) =>
        [new("table_schema", table.Schema), new("table_name", table.Table), new("column_name", table.Profile.PartitionColumn)];

    private static SqlParameter[] Named(string schema, string table) => [new("schema", schema), new("table", table)];

    private static SqlParameter[] Values(BackfillTable table) =>
        [new("system_value", table.Profile.SystemValue), new("default_value", table.Profile.DefaultValue)];

    private static SqlParameter[] SystemTypes(IReadOnlyList<int> ids) => ids.Select((id, i) => new SqlParameter($"sys_{i}", id)).ToArray();
}
