using System.Globalization;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Providers.SqlServer;

/// <summary>
/// Backfill SQL for SQL Server 2019+, Azure SQL Database (Hyperscale included) and Azure SQL Managed
/// Instance. Text only: every statement is one T-SQL batch sent as is (with parameters SqlClient sends it
/// through sp_executesql, so local variables declared in a batch never leak into the session).
/// </summary>
public sealed class SqlServerBackfillDialect : BackfillDialect
{
    /// <summary>
    /// Largest batch the engine sends to SQL Server. A single statement that takes at least 5,000 locks on
    /// one table or index (on one partition of a partitioned table with LOCK_ESCALATION = AUTO, as the FHIR
    /// schema uses) escalates to a table (partition) lock and blocks every other writer of that object.
    /// One batch row costs about one key lock in the clustered index and one in each filtered index it
    /// leaves or enters, so 4,000 rows stay below the threshold with a margin for page locks.
    /// https://learn.microsoft.com/sql/relational-databases/sql-server-transaction-locking-and-row-versioning-guide#lock-escalation-thresholds
    /// </summary>
    public const int LockEscalationSafeBatchSize = 4000;

    /// <summary>The batch-size controller never grows a SQL Server batch past lock escalation.</summary>
    public override int SafeMaxBatchSize => LockEscalationSafeBatchSize;

    /// <summary>DESIGN §1: SQL Server 2019+ (major version 15); Azure SQL has no version of its own.</summary>
    public override MinimumServerVersion MinimumVersion { get; } = new(15, "SQL Server 2019");

    /// <summary>Largest MAX_DURATION of a resumable index operation: one week (CREATE INDEX, resumable index operations).</summary>
    public const int MaxResumableMinutes = 7 * 24 * 60;

    /// <summary>Largest MAXDOP an index operation takes (CREATE INDEX, MAXDOP: "The maximum is 64 processors").</summary>
    public const int MaxIndexMaxDop = 64;

    /// <summary>
    /// The application lock's name, from @resource. sp_getapplock cuts a resource name at 255 characters and compares
    /// names in binary, whatever the database collation, while table names usually compare case-insensitively. So the
    /// name is lower-cased (the same table spelled Resource and resource is one lock; two tables that differ only by case
    /// in a case-sensitive database share one, which only serializes them), and a name longer than 255 characters keeps
    /// its first 190 and ends with the SHA-256 of the whole (64 hex digits), so two long names never collide by their cut.
    /// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-getapplock-transact-sql
    /// </summary>
    internal const string LockNameDeclaration = """
        DECLARE @lock_name nvarchar(255) = CASE WHEN DATALENGTH(@resource) / 2 <= 255 THEN LOWER(@resource)
            ELSE CONCAT(LEFT(LOWER(@resource), 190), N'~', CONVERT(nvarchar(64), HASHBYTES('SHA2_256', LOWER(@resource)), 2)) END;
        """;

    private static string Q(string identifier) => Identifier.Quote(identifier, '[', ']');
    private static string Q(string schema, string name) => Q(schema) + "." + Q(name);
    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>An N'...' literal (quotes doubled) for names that T-SQL functions take as strings.</summary>
    private static string Lit(string value) => "N'" + value.Replace("'", "''") + "'";

    // ---------------------------------------------------------------- control tables

    /// <summary>
    /// One batch, one transaction. Two first-time runners could both find a table missing and both create it
    /// (error 2714), so the batch first takes an exclusive application lock on the control schema's name, owned
    /// by the transaction: creators run one after the other and the later ones find everything there. The lock
    /// must be requested inside a transaction when its owner is Transaction; it is released at COMMIT (or at the
    /// outer transaction's end when the engine runs this inside one, e.g. the rolled-back sample batch). A
    /// negative return code (-1 timeout, -2 cancelled, -3 deadlock victim, -999 call error) ends the batch with
    /// THROW, whose preceding statement must end with a semicolon; XACT_ABORT rolls everything back on any error.
    /// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-getapplock-transact-sql
    /// https://learn.microsoft.com/sql/t-sql/language-elements/throw-transact-sql
    /// https://learn.microsoft.com/sql/t-sql/statements/set-xact-abort-transact-sql
    /// CREATE SCHEMA must be the only statement of its batch, hence EXEC.
    /// https://learn.microsoft.com/sql/t-sql/statements/create-schema-transact-sql
    /// </summary>
    public override IReadOnlyList<SqlStatement> CreateControlTables(string controlSchema)
    {
        var s = Q(controlSchema);
        string Missing(string table) => $"IF OBJECT_ID({Lit(Q(controlSchema, table))}, N'U') IS NULL";
        return
        [
            SqlStatement.Of($"""
                SET XACT_ABORT ON;
                BEGIN TRANSACTION;
                DECLARE @lock_result int;
                {LockNameDeclaration}
                EXEC @lock_result = sys.sp_getapplock @Resource = @lock_name, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 30000;
                IF @lock_result < 0
                BEGIN
                    DECLARE @lock_message nvarchar(2048) = CONCAT(N'could not lock the creation of the control tables (sp_getapplock returned ', @lock_result, N')');
                    THROW 50001, @lock_message, 1;
                END;
                IF SCHEMA_ID({Lit(controlSchema)}) IS NULL EXEC({Lit("CREATE SCHEMA " + s)});
                {Missing("schema_version")}
                CREATE TABLE {s}.[schema_version] (
                    [component] nvarchar(128) NOT NULL PRIMARY KEY,
                    [version] int NOT NULL,
                    [applied_at] datetime2 NOT NULL DEFAULT SYSUTCDATETIME());
                {Missing("backfill_run")}
                CREATE TABLE {s}.[backfill_run] (
                    [run_id] bigint IDENTITY(1, 1) NOT NULL PRIMARY KEY,
                    [table_schema] nvarchar(128) NOT NULL,
                    [table_name] nvarchar(128) NOT NULL,
                    [column_name] nvarchar(128) NOT NULL,
                    [direction] nvarchar(32) NOT NULL,
                    [status] nvarchar(32) NOT NULL,
                    [host] nvarchar(256) NULL,
                    [started_at] datetime2 NOT NULL DEFAULT SYSUTCDATETIME(),
                    [ended_at] datetime2 NULL,
                    [options] nvarchar(max) NULL);
                {Missing("backfill_checkpoint")}
                CREATE TABLE {s}.[backfill_checkpoint] (
                    [run_id] bigint NOT NULL REFERENCES {s}.[backfill_run] ([run_id]),
                    [type_id] int NOT NULL,
                    [type_name] nvarchar(256) NOT NULL,
                    [target_value] int NOT NULL,
                    [last_key] bigint NOT NULL,
                    [high_water_mark] bigint NULL,
                    [estimated_rows] bigint NULL,
                    [rows_scanned] bigint NOT NULL DEFAULT 0,
                    [rows_updated] bigint NOT NULL DEFAULT 0,
                    [batches] bigint NOT NULL DEFAULT 0,
                    [lock_waits] bigint NOT NULL DEFAULT 0,
                    [status] nvarchar(32) NOT NULL,
                    [host] nvarchar(256) NULL,
                    [started_at] datetime2 NULL,
                    [updated_at] datetime2 NULL,
                    [completed_at] datetime2 NULL,
                    [last_error] nvarchar(max) NULL,
                    PRIMARY KEY ([run_id], [type_id]));
                {Missing("backfill_control")}
                CREATE TABLE {s}.[backfill_control] (
                    [table_schema] nvarchar(128) NOT NULL,
                    [table_name] nvarchar(128) NOT NULL,
                    [column_name] nvarchar(128) NOT NULL,
                    [stop_requested] bit NOT NULL DEFAULT 0,
                    [requested_by] nvarchar(256) NULL,
                    [requested_at] datetime2 NULL,
                    PRIMARY KEY ([table_schema], [table_name], [column_name]));
                INSERT INTO {s}.[schema_version] ([component], [version])
                SELECT N'backfill', 1
                WHERE NOT EXISTS (SELECT 1 FROM {s}.[schema_version] WITH (UPDLOCK, HOLDLOCK) WHERE [component] = N'backfill');
                COMMIT TRANSACTION;
                """, new SqlParameter("resource", ControlTables.CreationLock(controlSchema))),
        ];
    }

    public override SqlStatement ControlTablesExist(string controlSchema) => SqlStatement.Of(
        "SELECT CASE WHEN OBJECT_ID(@relation, N'U') IS NULL THEN 0 ELSE 1 END",
        new SqlParameter("relation", Q(controlSchema, "backfill_run")));

    protected internal override SqlStatement InsertRunText(string controlSchema) => new($"""
        INSERT INTO {Q(controlSchema)}.[backfill_run] ([table_schema], [table_name], [column_name], [direction], [status], [host], [options])
        OUTPUT INSERTED.[run_id]
        VALUES (@table_schema, @table_name, @column_name, @direction, N'running', @host, @options)
        """);

    protected internal override SqlStatement LatestRunText(string controlSchema) => new($"""
        SELECT TOP (1) [run_id], [direction], [status], [host], [started_at], [ended_at]
        FROM {Q(controlSchema)}.[backfill_run]
        WHERE [table_schema] = @table_schema AND [table_name] = @table_name AND [column_name] = @column_name
        ORDER BY [run_id] DESC
        """);

    protected internal override SqlStatement SetRunStatusText(string controlSchema) => new($"""
        UPDATE {Q(controlSchema)}.[backfill_run]
        SET [status] = @status, [host] = @host, [ended_at] = CASE WHEN @ended = 1 THEN SYSUTCDATETIME() END
        WHERE [run_id] = @run_id
        """);

    protected internal override SqlStatement InsertCheckpointText(string controlSchema)
    {
        var s = Q(controlSchema);
        return new($"""
            INSERT INTO {s}.[backfill_checkpoint]
                ([run_id], [type_id], [type_name], [target_value], [last_key], [high_water_mark], [estimated_rows], [status])
            SELECT @run_id, @type_id, @type_name, @target_value, @last_key, @high_water_mark, @estimated_rows, N'pending'
            WHERE NOT EXISTS (SELECT 1 FROM {s}.[backfill_checkpoint] WITH (UPDLOCK, HOLDLOCK)
                              WHERE [run_id] = @run_id AND [type_id] = @type_id)
            """);
    }

    protected internal override SqlStatement ReadCheckpointsText(string controlSchema) => new($"""
        SELECT [run_id], [type_id], [type_name], [target_value], [last_key], [high_water_mark], [estimated_rows],
               [rows_scanned], [rows_updated], [batches], [lock_waits], [status], [host],
               [started_at], [updated_at], [completed_at], [last_error]
        FROM {Q(controlSchema)}.[backfill_checkpoint]
        WHERE [run_id] = @run_id
        ORDER BY [type_name]
        """);

    protected internal override SqlStatement UpdateCheckpointStatusText(string controlSchema) => new($"""
        UPDATE {Q(controlSchema)}.[backfill_checkpoint]
        SET [status] = @status, [host] = @host, [high_water_mark] = @high_water_mark, [last_error] = @last_error,
            [updated_at] = SYSUTCDATETIME(),
            -- Work resumed after a pause (or a final pass after waiting for the other types): the idle time does not
            -- count, so rows_scanned / (updated_at - started_at) stays the working rate. Seconds: DATEADD takes an int.
            [started_at] = CASE WHEN [started_at] IS NULL THEN SYSUTCDATETIME()
                WHEN [status] IN (N'paused', N'failed', N'pending', N'done') AND @status IN (N'running', N'catch-up', N'sweep')
                    THEN DATEADD(second, DATEDIFF(second, [updated_at], SYSUTCDATETIME()), [started_at])
                ELSE [started_at] END,
            [completed_at] = CASE WHEN @status = N'done' THEN SYSUTCDATETIME() ELSE [completed_at] END
        WHERE [run_id] = @run_id AND [type_id] = @type_id
        """);

    protected internal override SqlStatement AddLockWaitsText(string controlSchema) => new($"""
        UPDATE {Q(controlSchema)}.[backfill_checkpoint]
        SET [lock_waits] = [lock_waits] + @lock_waits, [updated_at] = SYSUTCDATETIME()
        WHERE [run_id] = @run_id AND [type_id] = @type_id
        """);

    /// <summary>
    /// Update, then insert when no row was there, in one transaction under UPDLOCK + HOLDLOCK (serializable
    /// key-range lock), so two concurrent callers cannot both insert. MERGE is avoided on purpose.
    /// https://learn.microsoft.com/sql/t-sql/queries/hints-transact-sql-table
    /// </summary>
    protected internal override SqlStatement SetStopFlagText(string controlSchema)
    {
        var s = Q(controlSchema);
        return new($"""
            SET XACT_ABORT ON;
            BEGIN TRANSACTION;
            UPDATE {s}.[backfill_control] WITH (UPDLOCK, HOLDLOCK)
            SET [stop_requested] = CASE WHEN @stop_requested = 1 THEN 1 ELSE 0 END, [requested_by] = @requested_by, [requested_at] = SYSUTCDATETIME()
            WHERE [table_schema] = @table_schema AND [table_name] = @table_name AND [column_name] = @column_name;
            IF @@ROWCOUNT = 0
                INSERT INTO {s}.[backfill_control] ([table_schema], [table_name], [column_name], [stop_requested], [requested_by], [requested_at])
                VALUES (@table_schema, @table_name, @column_name, CASE WHEN @stop_requested = 1 THEN 1 ELSE 0 END, @requested_by, SYSUTCDATETIME());
            COMMIT TRANSACTION;
            """);
    }

    protected internal override SqlStatement ReadStopFlagText(string controlSchema) => new($"""
        SELECT COALESCE(MAX(CASE WHEN [stop_requested] = 1 THEN 1 ELSE 0 END), 0)
        FROM {Q(controlSchema)}.[backfill_control]
        WHERE [table_schema] = @table_schema AND [table_name] = @table_name AND [column_name] = @column_name
        """);

    /// <summary>
    /// A session-owned application lock, released when the session ends, so a killed runner frees its
    /// types. @LockTimeout = 0 never waits. Return codes 0 (granted) and 1 (granted after a wait) are
    /// success; -1 timeout, -2 canceled, -3 deadlock victim, -999 a call error.
    /// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-getapplock-transact-sql
    /// </summary>
    protected internal override SqlStatement TryAcquireAppLockText() => new($"""
        DECLARE @result int;
        {LockNameDeclaration}
        EXEC @result = sys.sp_getapplock @Resource = @lock_name, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
        SELECT CASE WHEN @result >= 0 THEN 1 ELSE 0 END;
        """);

    /// <summary>
    /// Releases only when this session holds the lock: sp_releaseapplock raises an error otherwise.
    /// https://learn.microsoft.com/sql/t-sql/functions/applock-mode-transact-sql
    /// </summary>
    protected internal override SqlStatement ReleaseAppLockText() => new($"""
        {LockNameDeclaration}
        IF APPLOCK_MODE('public', @lock_name, 'Session') <> 'NoLock'
            EXEC sys.sp_releaseapplock @Resource = @lock_name, @LockOwner = 'Session';
        """);

    // ---------------------------------------------------------------- catalog

    /// <summary>
    /// EngineEdition: 3 = Enterprise, Developer, Evaluation; 5 = Azure SQL Database (Hyperscale too);
    /// 8 = Azure SQL Managed Instance. Online index builds exist on those; resumable index creation on
    /// SQL Server 2019 (major 15) and later and on Azure. Azure reports ProductMajorVersion 12, which says nothing
    /// (the service is always current): major_version is null there. Adding a NOT NULL column with a constant
    /// default is metadata only on Enterprise (3) and Azure (5, 8); Standard, Web and Express rewrite every row.
    /// https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql
    /// https://learn.microsoft.com/sql/t-sql/statements/alter-table-transact-sql#adding-not-null-columns-as-an-online-operation
    /// </summary>
    public override SqlStatement ServerInfo() => new("""
        SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (5, 8) THEN NULL
                    ELSE CAST(SERVERPROPERTY('ProductMajorVersion') AS int) END AS major_version,
               CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (3, 5, 8) THEN 1 ELSE 0 END AS supports_online_index,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (5, 8)
                      OR (CAST(SERVERPROPERTY('EngineEdition') AS int) = 3 AND CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 15)
                    THEN 1 ELSE 0 END AS supports_resumable_index,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (3, 5, 8) THEN 1 ELSE 0 END AS metadata_only_add_column
        """);

    protected internal override SqlStatement SchemaExistsText() => new("SELECT CASE WHEN SCHEMA_ID(@schema) IS NULL THEN 0 ELSE 1 END");

    protected internal override SqlStatement TableInfoText() => new("""
        SELECT CASE WHEN EXISTS (SELECT 1 FROM sys.indexes AS i JOIN sys.partition_schemes AS ps ON ps.data_space_id = i.data_space_id
                                 WHERE i.object_id = t.object_id AND i.index_id IN (0, 1))
                      OR (SELECT COUNT(*) FROM sys.partitions AS p WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)) > 1
                    THEN 1 ELSE 0 END AS is_partitioned
        FROM sys.tables AS t
        WHERE t.schema_id = SCHEMA_ID(@schema) AND t.name = @table
        """);

    /// <summary>
    /// A view's base objects from sys.sql_expression_dependencies (a one-part name in the view's text leaves
    /// referenced_schema_name null: the bound object's schema, else the view's, is used). Tables and views only.
    /// https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-sql-expression-dependencies-transact-sql
    /// </summary>
    protected internal override SqlStatement ViewBaseTablesText() => new("""
        SELECT DISTINCT COALESCE(d.referenced_schema_name, OBJECT_SCHEMA_NAME(d.referenced_id), s.name) AS base_schema,
               d.referenced_entity_name AS base_table
        FROM sys.views AS v
        JOIN sys.schemas AS s ON s.schema_id = v.schema_id
        JOIN sys.sql_expression_dependencies AS d ON d.referencing_id = v.object_id
        WHERE s.name = @schema AND v.name = @table AND d.referenced_minor_id = 0 AND d.referenced_database_name IS NULL
          AND (d.referenced_id IS NULL OR OBJECTPROPERTY(d.referenced_id, 'IsUserTable') = 1 OR OBJECTPROPERTY(d.referenced_id, 'IsView') = 1)
        ORDER BY base_schema, base_table
        """);

    /// <summary>Rows of the heap or clustered index over all partitions (sys.partitions.rows: approximate, no scan).</summary>
    protected internal override SqlStatement TableRowEstimateText() => new("""
        SELECT COALESCE(SUM(p.rows), 0) AS table_rows
        FROM sys.partitions AS p
        WHERE p.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'U') AND p.index_id IN (0, 1)
        """);

    /// <summary>A column cannot be added online when the maximum possible row size would pass 8,060 bytes.
    /// https://learn.microsoft.com/sql/t-sql/statements/alter-table-transact-sql#adding-not-null-columns-as-an-online-operation</summary>
    public override int? OnlineAddColumnRowLimit => 8060;

    /// <summary>
    /// The maximum possible row size by the column definitions, as the row format lays it out: 4 bytes of header, 2 for the
    /// column count, the null bitmap (one bit per column), 2 for the variable-length column count, each fixed column's
    /// max_length, each variable column's max_length plus 2 for its offset; a (max) type counts its 24-byte in-row pointer
    /// (longer values go off row). Bit columns count a byte each and computed columns that are not persisted nothing.
    /// An estimate that errs high by a few bytes, never low.
    /// https://learn.microsoft.com/sql/relational-databases/databases/estimate-the-size-of-a-clustered-index
    /// </summary>
    protected internal override SqlStatement MaxRowBytesText() => new("""
        SELECT CAST(4 + 2 + (COUNT(*) + 7) / 8 + 2
                    + SUM(CASE WHEN c.max_length = -1 THEN 24 + 2
                               WHEN ty.name IN (N'varchar', N'nvarchar', N'varbinary', N'sql_variant') THEN c.max_length + 2
                               ELSE c.max_length END) AS int) AS max_row_bytes
        FROM sys.columns AS c
        JOIN sys.types AS ty ON ty.user_type_id = c.system_type_id
        LEFT JOIN sys.computed_columns AS cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id
        WHERE c.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'U') AND COALESCE(cc.is_persisted, 1) = 1
        """);

    /// <summary>
    /// The base type name (an alias type reports its system type) and the default as PostgreSQL reports
    /// it: SQL Server stores a constant default as ((2)) or ('x'); the outer parentheses are removed, and a
    /// second pair when only a plain literal is left inside.
    /// </summary>
    protected internal override SqlStatement ColumnsText() => new("""
        SELECT c.name AS column_name,
               LOWER(COALESCE(bt.name, ut.name)) AS data_type,
               CAST(c.is_nullable AS int) AS is_nullable,
               CASE WHEN d2.literal_text NOT LIKE '%[()]%' THEN d2.literal_text ELSE d1.inner_text END AS default_value
        FROM sys.columns AS c
        JOIN sys.tables AS t ON t.object_id = c.object_id
        JOIN sys.types AS ut ON ut.user_type_id = c.user_type_id
        LEFT JOIN sys.types AS bt ON bt.user_type_id = c.system_type_id
        LEFT JOIN sys.default_constraints AS dc ON dc.object_id = c.default_object_id
        CROSS APPLY (SELECT CASE WHEN dc.definition LIKE '(%)' THEN SUBSTRING(dc.definition, 2, LEN(dc.definition) - 2)
                                 ELSE dc.definition END AS inner_text) AS d1
        CROSS APPLY (SELECT CASE WHEN d1.inner_text LIKE '(%)' THEN SUBSTRING(d1.inner_text, 2, LEN(d1.inner_text) - 2)
                            END AS literal_text) AS d2
        WHERE t.schema_id = SCHEMA_ID(@schema) AND t.name = @table
        ORDER BY c.column_id
        """);

    /// <summary>SQL Server builds one index over all partitions of a table: nothing to build per partition.</summary>
    protected internal override SqlStatement PartitionsText() => new("""
        SELECT CAST(NULL AS sysname) AS partition_schema, CAST(NULL AS sysname) AS partition_name,
               CAST(NULL AS sysname) AS parent_schema, CAST(NULL AS sysname) AS parent_name,
               CAST(NULL AS int) AS is_leaf, CAST(NULL AS int) AS level
        WHERE 1 = 0
        """);

    /// <summary>
    /// Indexes from sys.indexes (disabled ones are not valid), plus resumable builds that are running
    /// or paused (state 0 / 1) from sys.index_resumable_operations, reported once each, with the MAXDOP the build
    /// last ran with (last_max_dop): a paused build must resume with it.
    /// https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-index-resumable-operations
    /// </summary>
    protected internal override SqlStatement IndexesText() => new("""
        SELECT s.name AS object_schema, t.name AS object_name, i.name AS index_name,
               CASE WHEN i.is_disabled = 0 THEN 1 ELSE 0 END AS is_valid, 0 AS is_paused, CAST(NULL AS int) AS paused_max_dop
        FROM sys.indexes AS i
        JOIN sys.tables AS t ON t.object_id = i.object_id
        JOIN sys.schemas AS s ON s.schema_id = t.schema_id
        WHERE s.name = @schema AND t.name = @table AND i.name IS NOT NULL AND i.is_hypothetical = 0
          AND NOT EXISTS (SELECT 1 FROM sys.index_resumable_operations AS r WHERE r.object_id = i.object_id AND r.index_id = i.index_id)
        UNION ALL
        SELECT s.name, t.name, r.name, 0, CASE WHEN r.state = 1 THEN 1 ELSE 0 END, CAST(r.last_max_dop AS int)
        FROM sys.index_resumable_operations AS r
        JOIN sys.tables AS t ON t.object_id = r.object_id
        JOIN sys.schemas AS s ON s.schema_id = t.schema_id
        WHERE s.name = @schema AND t.name = @table
        ORDER BY 1, 2, 3
        """);

    public override SqlStatement LookupTypes(BackfillTable table) => new($"""
        SELECT CAST({Q(table.Profile.LookupIdColumn)} AS int) AS type_id, CAST({Q(table.Profile.LookupNameColumn)} AS nvarchar(4000)) AS name
        FROM {Q(table.Schema, table.Profile.LookupTable)}
        """);

    /// <summary>
    /// The histogram of the newest unfiltered statistics whose leading column is the type column (the
    /// clustered index's on the FHIR table; the filtered indexes of phase 2 lead with it too but see one
    /// partition only): equal_rows of a step is the estimate for its range_high_key. Up to 200 steps; a
    /// type that is not a step boundary has no estimate. No table scan.
    /// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-db-stats-histogram-transact-sql
    /// </summary>
    protected internal override SqlStatement EstimatedRowsPerTypeText(BackfillTable table) => new("""
        SELECT CAST(h.range_high_key AS int) AS type_id, CAST(h.equal_rows AS bigint) AS estimated_rows
        FROM (SELECT TOP (1) st.object_id, st.stats_id
              FROM sys.stats AS st
              JOIN sys.stats_columns AS sc ON sc.object_id = st.object_id AND sc.stats_id = st.stats_id AND sc.stats_column_id = 1
              JOIN sys.columns AS c ON c.object_id = sc.object_id AND c.column_id = sc.column_id
              WHERE st.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'U') AND c.name = @type_column
                AND st.has_filter = 0
              ORDER BY STATS_DATE(st.object_id, st.stats_id) DESC) AS lead_stats
        CROSS APPLY sys.dm_db_stats_histogram(lead_stats.object_id, lead_stats.stats_id) AS h
        WHERE h.range_high_key IS NOT NULL
        """);

    /// <summary>
    /// HAS_PERMS_BY_NAME returns 1/0 (NULL for an unknown securable, reported as 0); SCHEMA is one of its
    /// securable classes (on Azure SQL Database too) and takes a one-part name. What the control tables need
    /// depends on what exists, because every piece of their DDL is guarded (IF SCHEMA_ID / OBJECT_ID IS NULL)
    /// and permissions are checked when a statement runs:
    /// - no control schema: CREATE SCHEMA and CREATE TABLE in the database (the creator owns the new schema);
    /// - the schema exists (a DBA created it) but not all four tables: CREATE TABLE in the database and ALTER
    ///   on the schema to create them there, plus SELECT, INSERT, UPDATE on the schema, since tables created in
    ///   a schema someone else owns belong to that owner;
    /// - all four tables exist: SELECT, INSERT, UPDATE on the schema.
    /// Ownership of the schema implies all of these.
    /// https://learn.microsoft.com/sql/t-sql/functions/has-perms-by-name-transact-sql
    /// https://learn.microsoft.com/sql/t-sql/statements/grant-schema-permissions-transact-sql
    /// </summary>
    protected internal override SqlStatement PermissionsText() => new("""
        DECLARE @control nvarchar(300) = QUOTENAME(@control_schema);
        DECLARE @state int = CASE WHEN SCHEMA_ID(@control_schema) IS NULL THEN 0
                                  WHEN (SELECT COUNT(*) FROM sys.tables
                                        WHERE schema_id = SCHEMA_ID(@control_schema)
                                          AND name IN (N'schema_version', N'backfill_run', N'backfill_checkpoint', N'backfill_control')) < 4 THEN 1
                                  ELSE 2 END;
        DECLARE @data int = CASE WHEN HAS_PERMS_BY_NAME(@control, N'SCHEMA', N'SELECT') = 1
                                  AND HAS_PERMS_BY_NAME(@control, N'SCHEMA', N'INSERT') = 1
                                  AND HAS_PERMS_BY_NAME(@control, N'SCHEMA', N'UPDATE') = 1 THEN 1 ELSE 0 END;
        SELECT N'alter_table' AS permission,
               COALESCE(HAS_PERMS_BY_NAME(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'OBJECT', N'ALTER'), 0) AS granted,
               N'ALTER on the table' AS needs
        UNION ALL
        SELECT N'update_table',
               CASE WHEN HAS_PERMS_BY_NAME(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'OBJECT', N'UPDATE') = 1
                     AND HAS_PERMS_BY_NAME(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'OBJECT', N'SELECT') = 1 THEN 1 ELSE 0 END,
               N'SELECT and UPDATE on the table'
        UNION ALL
        SELECT N'create_control_schema',
               CASE @state
                    WHEN 0 THEN CASE WHEN HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE SCHEMA') = 1
                                      AND HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE TABLE') = 1 THEN 1 ELSE 0 END
                    WHEN 1 THEN CASE WHEN HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE TABLE') = 1
                                      AND HAS_PERMS_BY_NAME(@control, N'SCHEMA', N'ALTER') = 1 AND @data = 1 THEN 1 ELSE 0 END
                    ELSE @data END,
               CASE @state
                    WHEN 0 THEN N'CREATE SCHEMA and CREATE TABLE in the database (control schema ' + @control + N' does not exist yet)'
                    WHEN 1 THEN N'CREATE TABLE in the database, and ALTER, SELECT, INSERT, UPDATE on schema ' + @control + N' (it exists; its tables do not)'
                    ELSE N'SELECT, INSERT, UPDATE on schema ' + @control + N' (its tables exist)' END
        """);

    /// <summary>
    /// Every probe is guarded so that the batch compiles and runs everywhere: the geo-replication view exists on Azure only
    /// (https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-geo-replication-link-status-azure-sql-database),
    /// sys.dm_database_replica_states on Azure, sys.dm_hadr_database_replica_states (no rows without an
    /// availability group) on SQL Server, so they run as dynamic SQL after an existence check; a probe the
    /// login lacks VIEW (SERVER|DATABASE) STATE for reads as 0 instead of failing the batch.
    /// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-db-log-space-usage-transact-sql
    /// </summary>
    public override SqlStatement ThrottleSignals() => new("""
        SET NOCOUNT ON;
        DECLARE @log float, @geo float, @replica float, @blocked float;
        BEGIN TRY
            SELECT @log = MAX(CAST(used_log_space_in_percent AS float)) FROM sys.dm_db_log_space_usage;
        END TRY
        BEGIN CATCH
            SET @log = NULL;
        END CATCH;
        IF OBJECT_ID(N'sys.dm_geo_replication_link_status') IS NOT NULL
        BEGIN
            BEGIN TRY
                EXEC sys.sp_executesql
                    N'SELECT @v = MAX(CAST(replication_lag_sec AS float)) FROM sys.dm_geo_replication_link_status WHERE role = 0',
                    N'@v float OUTPUT', @v = @geo OUTPUT;
            END TRY
            BEGIN CATCH
                SET @geo = NULL;
            END CATCH;
        END;
        DECLARE @replica_view nvarchar(128) =
            CASE WHEN EXISTS (SELECT 1 FROM sys.all_columns WHERE object_id = OBJECT_ID(N'sys.dm_database_replica_states') AND name = N'secondary_lag_seconds')
                 THEN N'sys.dm_database_replica_states'
                 WHEN EXISTS (SELECT 1 FROM sys.all_columns WHERE object_id = OBJECT_ID(N'sys.dm_hadr_database_replica_states') AND name = N'secondary_lag_seconds')
                 THEN N'sys.dm_hadr_database_replica_states' END;
        IF @replica_view IS NOT NULL
        BEGIN
            DECLARE @replica_sql nvarchar(max) =
                N'SELECT @v = MAX(CAST(secondary_lag_seconds AS float)) FROM ' + @replica_view + N' WHERE database_id = DB_ID() AND is_local = 0';
            BEGIN TRY
                EXEC sys.sp_executesql @replica_sql, N'@v float OUTPUT', @v = @replica OUTPUT;
            END TRY
            BEGIN CATCH
                SET @replica = NULL;
            END CATCH;
        END;
        BEGIN TRY
            SELECT @blocked = COUNT(*)
            FROM sys.dm_exec_requests AS w
            JOIN sys.dm_exec_sessions AS b ON b.session_id = w.blocking_session_id
            WHERE w.session_id <> @@SPID AND w.blocking_session_id <> 0 AND b.program_name LIKE N'partitionops%';
        END TRY
        BEGIN CATCH
            SET @blocked = NULL;
        END CATCH;
        SELECT N'log_used_percent' AS signal, COALESCE(@log, 0) AS value
        UNION ALL
        SELECT N'replica_lag_seconds', CASE WHEN COALESCE(@geo, 0) > COALESCE(@replica, 0) THEN COALESCE(@geo, 0) ELSE COALESCE(@replica, 0) END
        UNION ALL
        SELECT N'blocked_by_us', COALESCE(@blocked, 0);
        """);

    // ---------------------------------------------------------------- phase 1 and 2

    /// <summary>
    /// Milliseconds; -1 waits forever (an infinite TimeSpan). Sent without parameters, so SqlClient sends
    /// a plain batch and the setting stays on the session for the statements that follow.
    /// https://learn.microsoft.com/sql/t-sql/statements/set-lock-timeout-transact-sql
    /// </summary>
    public override SqlStatement SetLockTimeout(TimeSpan timeout)
    {
        var ms = timeout < TimeSpan.Zero ? -1 : (long)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds));
        return new($"SET LOCK_TIMEOUT {Int(ms)}");
    }

    /// <summary>
    /// NOT NULL with a constant default is a metadata-only change on Enterprise/Developer 2012+ and on
    /// Azure SQL: existing rows are not touched, the default is read from metadata. (On Standard edition it
    /// rewrites every row: the pre-flight warns, see ServerInfo's metadata_only_add_column.) No WITH CHECK: that belongs to
    /// constraints on existing columns, not to ADD
    /// column. Guarded so that a second run does nothing.
    /// https://learn.microsoft.com/sql/t-sql/statements/alter-table-transact-sql#adding-not-null-columns-as-an-online-operation
    /// </summary>
    public override SqlStatement AddPartitionColumn(BackfillTable table)
    {
        var p = table.Profile;
        var type = p.PartitionColumnType.ToLowerInvariant() == "integer" ? "int" : p.PartitionColumnType.ToLowerInvariant();
        var constraint = $"DF_{table.Table}_{p.PartitionColumn}";
        if (constraint.Length > Identifier.MaxLength) constraint = constraint[..Identifier.MaxLength];
        return new(
            $"IF COL_LENGTH({Lit(Q(table.Schema, table.Table))}, {Lit(p.PartitionColumn)}) IS NULL\n" +
            $"ALTER TABLE {Q(table.Schema, table.Table)} ADD {Q(p.PartitionColumn)} {type} NOT NULL " +
            $"CONSTRAINT {Q(constraint)} DEFAULT {Int(p.DefaultValue)}");
    }

    /// <summary>
    /// Valid: nothing. Paused resumable build: RESUME it, with the MAXDOP it last ran with. Disabled (or left by a failed
    /// build): drop and build again. Missing: CREATE ... WITH (ONLINE = ON, MAXDOP, DATA_COMPRESSION), never RESUMABLE:
    /// every index of phase 2 is filtered, and resumable index create does not support a filtered index (CREATE INDEX,
    /// resumable index operations, current functional limitations, which also say that the initial MAXDOP of a paused
    /// build cannot be changed). MAX_DURATION is only supported with RESUMABLE = ON, so it is left out as well: such a
    /// build cannot be paused, and stopped, it rolls back. The filter values are integer literals: a filtered index
    /// predicate compares a column with a constant, never a parameter.
    /// https://learn.microsoft.com/sql/t-sql/statements/create-index-transact-sql#resumable-indexes
    /// https://learn.microsoft.com/sql/t-sql/statements/alter-index-transact-sql
    /// </summary>
    public override IReadOnlyList<SqlStatement> BuildFilteredIndex(BackfillTable table, FilteredIndex index,
        IReadOnlyList<IndexState> existing, IReadOnlyList<TablePartition> partitions, IndexBuildOptions options)
    {
        var compression = (options.DataCompression ?? "").Trim().ToUpperInvariant();
        options.Validate();
        if (index.Columns.Count == 0)
            throw new InvalidRequestException(nameof(BackfillProfile.IndexColumns), index.Name, "has no key columns");

        var onTable = Q(table.Schema, table.Table);
        var state = existing.FirstOrDefault(e =>
            string.Equals(e.ObjectSchema, table.Schema, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(e.ObjectName, table.Table, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(e.IndexName, index.Name, StringComparison.OrdinalIgnoreCase));
        var statements = new List<SqlStatement>();

        if (state is { IsValid: true, IsPaused: false }) return statements;
        if (state is { IsPaused: true })
        {
            // A resumable build someone else started and paused: MAXDOP cannot change on resume, so it resumes with the
            // value it last ran with (sys.index_resumable_operations.last_max_dop), whatever this run asked for.
            var maxDop = state.PausedMaxDop ?? options.MaxDop;
            statements.Add(new($"ALTER INDEX {Q(index.Name)} ON {onTable} RESUME WITH (MAXDOP = {Int(maxDop)}, " +
                               $"MAX_DURATION = {Int(options.MaxDurationMinutes)} MINUTES)"));
            return statements;
        }
        if (state is not null)
            statements.Add(new($"DROP INDEX IF EXISTS {Q(index.Name)} ON {onTable}"));

        var with = (options.Online ? "ONLINE = ON, " : "ONLINE = OFF, ") +
                   $"MAXDOP = {Int(options.MaxDop)}, DATA_COMPRESSION = {compression}";
        var include = index.Include.Count > 0 ? $" INCLUDE ({string.Join(", ", index.Include.Select(Q))})" : "";
        statements.Add(new($"CREATE {(index.Unique ? "UNIQUE " : "")}NONCLUSTERED INDEX {Q(index.Name)} ON {onTable} " +
                           $"({string.Join(", ", index.Columns.Select(Q))}){include} {Filter(table, index)} WITH ({with})"));
        return statements;
    }

    /// <summary>WHERE partition column = value AND each extra condition (a bit column takes 1 / 0).</summary>
    private static string Filter(BackfillTable table, FilteredIndex index) =>
        $"WHERE {Q(table.Profile.PartitionColumn)} = {Int(index.FilterValue)}" +
        string.Concat(index.Where.Select(c => $" AND {Q(c.Column)} = {Int(c.Value)}"));

    /// <summary>Every phase-2 index is filtered: none can be paused or resumed (see <see cref="BuildFilteredIndex"/>).</summary>
    public override string? NotResumableReason(FilteredIndex index, IndexBuildOptions options) =>
        options.Online
            ? "SQL Server cannot pause or resume the build of a filtered index (RESUMABLE does not support filtered indexes): " +
              "it runs ONLINE to the end, and if it is stopped it rolls back"
            : "an offline build cannot be paused or resumed, and blocks writers while it runs";

    // ---------------------------------------------------------------- phase 3

    protected internal override SqlStatement HighWaterMarkText(BackfillTable table) => new(
        $"SELECT CAST(MAX({Q(table.Profile.KeyColumn)}) AS bigint) FROM {Q(table.Schema, table.Table)} " +
        $"WHERE {Q(table.Profile.TypeColumn)} = @type_id");

    /// <summary>
    /// One batch: the range end is the highest of the next @batch_size keys (a seek on the clustered key
    /// (type, key)); the update and the checkpoint commit together. The update touches only
    /// (last_key, range_end] of one type, so migrated rows are never read again (the spec's
    /// UPDATE TOP ... WHERE PartitionId = 2 rescans them and grows quadratically). XACT_ABORT rolls the
    /// whole transaction back on any run-time error: without it a lock timeout (1222) would end only the
    /// UPDATE statement and the checkpoint would still advance past rows that were never updated.
    /// https://learn.microsoft.com/sql/t-sql/statements/set-xact-abort-transact-sql
    /// </summary>
    protected internal override SqlStatement BatchText(BackfillTable table)
    {
        var p = table.Profile;
        var t = Q(table.Schema, table.Table);
        var type = Q(p.TypeColumn);
        var key = Q(p.KeyColumn);
        return new($"""
            SET XACT_ABORT ON;
            SET NOCOUNT ON;
            DECLARE @range_end bigint, @rows_scanned int, @rows_updated int = 0;
            SELECT @range_end = MAX(next_keys.k), @rows_scanned = COUNT(*)
            FROM (SELECT TOP (@batch_size) {key} AS k
                  FROM {t}
                  WHERE {type} = @type_id AND {key} > @last_key AND {key} <= @high_water_mark
                  ORDER BY {key}) AS next_keys;
            IF @range_end IS NOT NULL
            BEGIN
                BEGIN TRANSACTION;
                UPDATE {t}
                SET {Q(p.PartitionColumn)} = @target_value
                WHERE {type} = @type_id AND {key} > @last_key AND {key} <= @range_end AND {Q(p.PartitionColumn)} <> @target_value;
                SET @rows_updated = @@ROWCOUNT;
                UPDATE {Q(table.ControlSchema)}.[backfill_checkpoint]
                SET [last_key] = @range_end, [rows_scanned] = [rows_scanned] + @rows_scanned,
                    [rows_updated] = [rows_updated] + @rows_updated, [batches] = [batches] + 1, [updated_at] = SYSUTCDATETIME()
                WHERE [run_id] = @run_id AND [type_id] = @type_id;
                COMMIT TRANSACTION;
            END;
            SELECT @range_end AS range_end, @rows_scanned AS rows_scanned, @rows_updated AS rows_updated;
            """);
    }

    /// <summary>
    /// Stragglers by equality on the source value. OPTION (RECOMPILE) compiles the statement for the
    /// current parameter values, so [PartitionId] = @source_value is optimised as the constant it holds and
    /// the filtered index WHERE [PartitionId] = &lt;source&gt; can be matched; a cached plan for any value
    /// could not use it and would scan the type. Migrated rows leave that index, so repeated sweeps never
    /// read them again. https://learn.microsoft.com/sql/t-sql/queries/hints-transact-sql-query#recompile
    /// </summary>
    protected internal override SqlStatement SweepText(BackfillTable table)
    {
        var p = table.Profile;
        var col = Q(p.PartitionColumn);
        return new($"""
            SET XACT_ABORT ON;
            SET NOCOUNT ON;
            DECLARE @rows_updated int;
            BEGIN TRANSACTION;
            UPDATE TOP (@batch_size) {Q(table.Schema, table.Table)}
            SET {col} = @target_value
            WHERE {Q(p.TypeColumn)} = @type_id AND {Q(p.KeyColumn)} <= @upto_key AND {col} = @source_value
            OPTION (RECOMPILE);
            SET @rows_updated = @@ROWCOUNT;
            IF @rows_updated > 0
                UPDATE {Q(table.ControlSchema)}.[backfill_checkpoint]
                SET [rows_updated] = [rows_updated] + @rows_updated, [batches] = [batches] + 1, [updated_at] = SYSUTCDATETIME()
                WHERE [run_id] = @run_id AND [type_id] = @type_id;
            COMMIT TRANSACTION;
            SELECT @rows_updated AS rows_updated;
            """);
    }

    // ---------------------------------------------------------------- progress and validation

    protected internal override SqlStatement ExactCountsText(BackfillTable table)
    {
        var p = table.Profile;
        var col = Q(p.PartitionColumn);
        return new($"""
            SELECT CAST({Q(p.TypeColumn)} AS int) AS type_id, COUNT_BIG(*) AS total_rows,
                   SUM(CASE WHEN {col} = @system_value THEN CAST(1 AS bigint) ELSE 0 END) AS system_rows,
                   SUM(CASE WHEN {col} = @default_value THEN CAST(1 AS bigint) ELSE 0 END) AS default_rows
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
            SELECT CAST({type} AS int) AS type_id, COUNT_BIG(*) AS misplaced_rows
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
            SELECT CAST({type} AS int) AS type_id, COUNT_BIG(*) AS misplaced_rows,
                   SUM(CASE WHEN r.{Q(p.KeyColumn)} > c.[high_water_mark] THEN CAST(1 AS bigint) ELSE CAST(0 AS bigint) END) AS written_after_run
            FROM {Q(table.Schema, table.Table)} AS r
            LEFT JOIN {Q(table.ControlSchema)}.[backfill_checkpoint] AS c ON c.[run_id] = @run_id AND c.[type_id] = {type}
            WHERE ({type} IN ({ids}) AND {col} <> @system_value)
               OR ({type} NOT IN ({ids}) AND {col} <> @default_value)
            GROUP BY {type}
            """);
    }
}
