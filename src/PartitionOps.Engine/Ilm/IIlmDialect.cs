using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm;

/// <summary>
/// The statements of one merge (or of a move done the same way). In order: <see cref="Checks"/> (queries, each returning
/// one text naming what would make the merge fail, or null: run before anything is written), <see cref="Prepare"/> (each
/// statement on its own, committed), then in one transaction when the engine has transactional DDL: <see cref="Lock"/>,
/// <see cref="Merge"/>, <see cref="SwapLock"/>, <see cref="Swap"/>. With <see cref="Retry"/>, each of the two lock steps
/// is tried under a savepoint with a short lock timeout and retried after a back-off when it times out, so nothing ever
/// waits long for a lock (and nobody queues long behind such a wait).
/// </summary>
public sealed record MergeScript(
    IReadOnlyList<SqlStatement> Prepare,
    IReadOnlyList<SqlStatement> Lock,
    IReadOnlyList<SqlStatement> Merge)
{
    public IReadOnlyList<SqlStatement> Checks { get; init; } = [];

    /// <summary>Locks the swap needs, taken after <see cref="Merge"/> in the same transaction (retried like <see cref="Lock"/>).</summary>
    public IReadOnlyList<SqlStatement> SwapLock { get; init; } = [];

    /// <summary>Metadata changes under <see cref="SwapLock"/>'s locks.</summary>
    public IReadOnlyList<SqlStatement> Swap { get; init; } = [];

    public LockRetry? Retry { get; init; }

    /// <summary>
    /// Run (best effort, each on its own) after the script failed: drops what <see cref="Prepare"/> left (the next run would too).
    /// </summary>
    public IReadOnlyList<SqlStatement> Cleanup { get; init; } = [];

    /// <summary>
    /// Asked before each attempt at <see cref="SwapLock"/>: a non-null answer means the swap cannot get its locks without a
    /// deadlock (writers wait behind the copy's locks); the whole transaction is rolled back and tried again later.
    /// </summary>
    public SqlStatement? SwapGuard { get; init; }

    /// <summary>
    /// Statement text -> the partition whose rows it copies: its row count (the INSERT's) is that partition's exact row
    /// count. Empty when the engine's merge copies nothing the executor can count (Oracle): sources are then counted.
    /// </summary>
    public IReadOnlyDictionary<string, string> Copies { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Change capture setup (PostgreSQL rebuild of a keyed table), run after <see cref="Prepare"/>: each step in a
    /// transaction of its own, under <see cref="Retry"/>'s short lock tries (a step is one statement, or an object and the
    /// comment that marks it as ours: never one without the other). When not empty, <see cref="Merge"/> (the copy) commits
    /// on its own, <see cref="CatchUp"/> runs in transactions of its own, and the swap's transaction is
    /// <see cref="SwapLock"/>, <see cref="Drain"/>, <see cref="Swap"/>; a <see cref="SwapGuard"/> is not used.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<SqlStatement>> CaptureSteps { get; init; } = [];

    /// <summary>The statements of <see cref="CaptureSteps"/>, in order.</summary>
    public IReadOnlyList<SqlStatement> Capture => CaptureSteps.SelectMany(step => step).ToList();

    /// <summary>
    /// One catch-up batch, run in a transaction of its own and repeated until a batch's last statement (the log entries it
    /// applied and deleted) counts fewer than <see cref="CatchUpThreshold"/>, or <see cref="MaxCatchUpRounds"/> batches ran.
    /// </summary>
    public IReadOnlyList<SqlStatement> CatchUp { get; init; } = [];

    public int CatchUpThreshold { get; init; }

    public int MaxCatchUpRounds { get; init; } = 1;

    /// <summary>The rest of the log applied under <see cref="SwapLock"/>'s locks; its last statement counts the entries applied.</summary>
    public IReadOnlyList<SqlStatement> Drain { get; init; } = [];

    /// <summary>Every statement in the order it runs (a catch-up batch once; <see cref="Cleanup"/> runs only after a failure).</summary>
    public IEnumerable<SqlStatement> All => Checks.Concat(Prepare).Concat(Capture).Concat(Lock).Concat(Merge).Concat(CatchUp)
        .Concat(SwapLock).Concat(Drain).Concat(Swap);
}

/// <summary>
/// How a lock step is tried: <see cref="Begin"/> (a savepoint and a short lock timeout) before each attempt,
/// <see cref="Undo"/> after an attempt that timed out (rolling back to the savepoint releases the locks taken after it),
/// <see cref="Done"/> after the step succeeded.
/// </summary>
public sealed record LockRetry(IReadOnlyList<SqlStatement> Begin, SqlStatement Undo, SqlStatement Done, TimeSpan AttemptTimeout);

/// <summary>
/// An object a failed run of ours left behind (a rebuild table, a temporary constraint), and how to drop it: <see cref="Drop"/>
/// as a run sends it, <see cref="ByHand"/> as a DBA would type it (the same DDL without the run's lock tries).
/// </summary>
public sealed record IlmLeftover(string Kind, string Name, SqlStatement Drop, string ByHand);

/// <summary>A partition's range as read from the catalog: null lower = first/MINVALUE, null upper = MAXVALUE.</summary>
public sealed record PartitionBound(DateTime? Lower, DateTime? Upper);

/// <summary>One row of dwh_ilm_partition_merges to write.</summary>
public sealed record MergeAuditEntry(
    string TableOwner,
    string TableName,
    string SourcePartition,
    string TargetPartition,
    string Status,
    string? ErrorMessage = null,
    decimal? DurationSeconds = null,
    long? RowsMerged = null);

/// <summary>One row of dwh_ilm_execution_log (moves and renames).</summary>
public sealed record ExecutionLogEntry(
    string TableOwner,
    string TableName,
    string PartitionName,
    string Action,
    string? SourceTablespace,
    string? TargetTablespace,
    string Status,
    string? ErrorMessage,
    decimal DurationSeconds,
    string SqlText);

/// <summary>
/// ILM SQL for one database engine: builds text only, never executes (Respawn style). Names are
/// validated by the caller and quoted here; values are parameters except where the engine's DDL
/// cannot take them (bounds, lock timeouts), where they come from typed values, never from text.
/// Catalog queries return the same column names on every engine.
/// </summary>
public interface IIlmDialect
{
    /// <summary>provider name, for layouts and messages.</summary>
    string ProviderName { get; }

    /// <summary>Several adjacent partitions merge in one operation (except interval tables on Oracle).</summary>
    bool MultiPartitionMerge { get; }

    /// <summary>A merge rewrites the partition that grows as well as the months (Oracle), or only the months (PostgreSQL).</summary>
    bool MergeRewritesTarget { get; }

    /// <summary>DDL is transactional: the merge runs in one transaction and rolls back on a row count mismatch.</summary>
    bool TransactionalDdl { get; }

    /// <summary>Schema used for tables when none is given, null meaning the connected user's (Oracle).</summary>
    string? DefaultSchema { get; }

    /// <summary>Schema of the control tables when none is given, null meaning the connected user's (Oracle).</summary>
    string? DefaultControlSchema { get; }

    /// <summary>How the engine writes a name the user typed (Oracle folds to upper case).</summary>
    string NormalizeName(string name);

    // ---- catalog ----

    /// <summary>Single value: the server's major version.</summary>
    SqlStatement ServerVersion();

    /// <summary>
    /// table_owner, table_name, partitioning_type (null when not partitioned), key_count, partition_key, is_interval,
    /// is_composite (subpartitioned), and optionally is_iot (Oracle index-organized: merges go pairwise).
    /// </summary>
    SqlStatement TableInfo(string? schema, string table);

    /// <summary>partition_name, partition_position, bound_text, tablespace_name, compression, row_estimate, is_interval.</summary>
    SqlStatement Partitions(string owner, string table);

    /// <summary>
    /// <see cref="Partitions(string, string)"/> for a server of <paramref name="serverMajorVersion"/> (null: unknown), which
    /// may read a newer catalog column (Oracle 23ai: HIGH_VALUE_JSON). It may add bound_text_fallback, the bound read
    /// another way, used when bound_text cannot be parsed.
    /// </summary>
    SqlStatement Partitions(string owner, string table, int? serverMajorVersion) => Partitions(owner, table);

    /// <summary>column_name of the columns a merge copies, in order; null when merges do not copy rows.</summary>
    SqlStatement? Columns(string owner, string table);

    /// <summary>
    /// column_name of the columns of the table's primary key (or of a unique index on NOT NULL columns), in key order; no
    /// rows when it has none; null when this engine's merges need no key.
    /// </summary>
    SqlStatement? KeyColumns(string owner, string table) => null;

    /// <summary>
    /// tablespace_name of every tablespace the connected user can use, spelled as the catalog stores it: the policy's
    /// names are resolved against these before planning (PostgreSQL folds unquoted names to lower case, Oracle to upper).
    /// </summary>
    SqlStatement Tablespaces();

    /// <summary>Reads a bound_text value; null when it is not a date range (e.g. a DEFAULT partition).</summary>
    PartitionBound? ParseBound(string boundText);

    // ---- work ----

    SqlStatement SetLockTimeout(int seconds);

    IReadOnlyList<SqlStatement> Move(PartitionLayout table, MoveAction move, bool online);

    MergeScript Merge(PartitionLayout table, MergeAction merge, bool online);

    /// <summary>The methods this engine offers for merges and moves (<see cref="MergeMethod"/>); none: its own statement only.</summary>
    IReadOnlyList<MergeMethod> MergeMethods => [];

    /// <summary>A merge done by <paramref name="method"/>; engines without a choice ignore it.</summary>
    MergeScript Merge(PartitionLayout table, MergeAction merge, bool online, MergeMethod method) => Merge(table, merge, online);

    /// <summary>
    /// A move done as a script (rebuilt beside the live partition and swapped in), or null: <see cref="Move"/>'s statements.
    /// </summary>
    MergeScript? MoveScript(PartitionLayout table, MoveAction move, bool online, MergeMethod method) => null;

    /// <summary>
    /// Queries for what failed runs of ours left on <paramref name="table"/>: rows of leftover_kind, leftover_name;
    /// null when the engine leaves nothing behind.
    /// </summary>
    SqlStatement? Leftovers(string owner, string table) => null;

    /// <summary>
    /// Single value, true when a session holds the table's run lock (<see cref="TryLockTable"/>), i.e. a run of ours is working
    /// on the table now, read without taking it; null when the engine cannot tell.
    /// </summary>
    SqlStatement? TableLockHeld(string owner, string table) => null;

    /// <summary>The statement that drops one leftover found by <see cref="Leftovers"/>.</summary>
    SqlStatement DropLeftover(string owner, string table, string kind, string name) =>
        throw new NotSupportedException($"{ProviderName} leaves no {kind} behind");

    /// <summary>The DDL of <see cref="DropLeftover"/> as a DBA runs it by hand (what ilm health shows as the fix).</summary>
    string DropLeftoverByHand(string owner, string table, string kind, string name) => DropLeftover(owner, table, kind, name).Text;

    /// <summary>The read-only index checks of <c>ilm health --verify-indexes</c>; null when this database kind has none.</summary>
    Monitoring.IIlmIndexChecks? IndexChecks => null;

    IReadOnlyList<SqlStatement> Rename(PartitionLayout table, RenameAction rename);

    /// <summary>
    /// Single value (a row, or an output parameter of a PL/SQL block), true when this session now holds the table's
    /// application lock (two runners never work the same table): pg_try_advisory_lock, Oracle's DBMS_LOCK (which needs
    /// EXECUTE on SYS.DBMS_LOCK); null when the engine offers none.
    /// </summary>
    SqlStatement? TryLockTable(string owner, string table);

    SqlStatement? UnlockTable(string owner, string table);

    /// <summary>Single value: the exact row count of one partition.</summary>
    SqlStatement CountRows(PartitionLayout table, string partition);

    // ---- control tables ----

    IReadOnlyList<SqlStatement> CreateControlTables(string? controlSchema);

    /// <summary>
    /// Single value: 1 when the control table <paramref name="table"/> (dwh_ilm_config, dwh_ilm_partition_merges...)
    /// exists, else 0. Reading calls (config, history, health, plans) check first and create nothing.
    /// </summary>
    SqlStatement ControlTableExists(string? controlSchema, string table);

    /// <summary>Inserts the key with its value unless it exists (defaults on first use).</summary>
    SqlStatement SeedConfig(string? controlSchema, string key, string value, string description);

    SqlStatement SetConfig(string? controlSchema, string key, string value, string? description);

    /// <summary>config_key, config_value, description.</summary>
    SqlStatement ReadConfig(string? controlSchema);

    SqlStatement InsertMergeAudit(string? controlSchema, MergeAuditEntry entry);

    /// <summary>Turns the IN_PROGRESS row of one source into its final status.</summary>
    SqlStatement CompleteMergeAudit(string? controlSchema, MergeAuditEntry entry);

    /// <summary>
    /// Merge audit rows, newest first: merge_id, merge_date, table_owner, table_name, source_partition, target_partition,
    /// merge_status, error_message, duration_seconds, rows_merged.
    /// </summary>
    SqlStatement MergeHistory(string? controlSchema, string? owner, string? table, int maxRows);

    /// <summary>Same columns as <see cref="MergeHistory"/>: the IN_PROGRESS rows of one table (interrupted runs).</summary>
    SqlStatement InProgressMerges(string? controlSchema, string owner, string table);

    /// <summary>
    /// source_partition, merge_status, merge_date: the latest attempt of each source of one table. SKIPPED rows
    /// are not attempts: a merge held back because it failed before must still count as failed.
    /// </summary>
    SqlStatement LatestMergeStatus(string? controlSchema, string owner, string table);

    /// <summary>
    /// total_merges, succeeded, failed, avg_success_seconds, max_seconds over the last <paramref name="days"/> days
    /// (no FILTER: Oracle has none).
    /// </summary>
    SqlStatement MergeStatistics(string? controlSchema, string? table, int days);

    /// <summary>
    /// Single value: sources whose latest attempt (SKIPPED rows aside) FAILED more than <paramref name="days"/> days ago.
    /// </summary>
    SqlStatement StaleFailedMerges(string? controlSchema, string? table, int days);

    SqlStatement InsertExecutionLog(string? controlSchema, ExecutionLogEntry entry);
}
