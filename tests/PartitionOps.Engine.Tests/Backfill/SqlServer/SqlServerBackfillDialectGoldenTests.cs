using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Backfill.SqlServer;

/// <summary>
/// The exact text of every SQL Server backfill statement for the fhir profile (schema dbo, control schema
/// partitionops). A change here is a change to what runs on customers' servers: review it as such.
/// Line endings are normalised so that a CRLF checkout compares equal.
/// </summary>
public sealed class SqlServerBackfillDialectGoldenTests
{
    private const string Control = "partitionops";
    private static readonly SqlServerBackfillDialect Dialect = new();
    private static readonly BackfillTable Fhir = new("dbo", BackfillProfile.Fhir, Control);

    private static string Lf(string text) => text.Replace("\r\n", "\n");

    private static void Golden(string expected, SqlStatement actual) => Assert.Equal(Lf(expected), Lf(actual.Text));

    [Fact]
    public void CreateControlTables()
    {
        var statement = Assert.Single(Dialect.CreateControlTables(Control));
        Golden("""
            SET XACT_ABORT ON;
            BEGIN TRANSACTION;
            DECLARE @lock_result int;
            DECLARE @lock_name nvarchar(255) = CASE WHEN DATALENGTH(@resource) / 2 <= 255 THEN LOWER(@resource)
                ELSE CONCAT(LEFT(LOWER(@resource), 190), N'~', CONVERT(nvarchar(64), HASHBYTES('SHA2_256', LOWER(@resource)), 2)) END;
            EXEC @lock_result = sys.sp_getapplock @Resource = @lock_name, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 30000;
            IF @lock_result < 0
            BEGIN
                DECLARE @lock_message nvarchar(2048) = CONCAT(N'could not lock the creation of the control tables (sp_getapplock returned ', @lock_result, N')');
                THROW 50001, @lock_message, 1;
            END;
            IF SCHEMA_ID(N'partitionops') IS NULL EXEC(N'CREATE SCHEMA [partitionops]');
            IF OBJECT_ID(N'[partitionops].[schema_version]', N'U') IS NULL
            CREATE TABLE [partitionops].[schema_version] (
                [component] nvarchar(128) NOT NULL PRIMARY KEY,
                [version] int NOT NULL,
                [applied_at] datetime2 NOT NULL DEFAULT SYSUTCDATETIME());
            IF OBJECT_ID(N'[partitionops].[backfill_run]', N'U') IS NULL
            CREATE TABLE [partitionops].[backfill_run] (
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
            IF OBJECT_ID(N'[partitionops].[backfill_checkpoint]', N'U') IS NULL
            CREATE TABLE [partitionops].[backfill_checkpoint] (
                [run_id] bigint NOT NULL REFERENCES [partitionops].[backfill_run] ([run_id]),
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
            IF OBJECT_ID(N'[partitionops].[backfill_control]', N'U') IS NULL
            CREATE TABLE [partitionops].[backfill_control] (
                [table_schema] nvarchar(128) NOT NULL,
                [table_name] nvarchar(128) NOT NULL,
                [column_name] nvarchar(128) NOT NULL,
                [stop_requested] bit NOT NULL DEFAULT 0,
                [requested_by] nvarchar(256) NULL,
                [requested_at] datetime2 NULL,
                PRIMARY KEY ([table_schema], [table_name], [column_name]));
            INSERT INTO [partitionops].[schema_version] ([component], [version])
            SELECT N'backfill', 1
            WHERE NOT EXISTS (SELECT 1 FROM [partitionops].[schema_version] WITH (UPDLOCK, HOLDLOCK) WHERE [component] = N'backfill');
            COMMIT TRANSACTION;
            """, statement);
        // The lock is the transaction's (held to COMMIT, or to the end of an outer transaction) and its name a parameter.
        Assert.Equal([new SqlParameter("resource", "partitionops.control.partitionops")], statement.Parameters);
    }

    [Fact]
    public void The_creation_lock_is_taken_first_and_a_failure_to_get_it_ends_the_batch_before_any_ddl()
    {
        var text = Lf(Assert.Single(Dialect.CreateControlTables(Control)).Text);
        var lockAt = text.IndexOf("sys.sp_getapplock", StringComparison.Ordinal);
        Assert.True(text.IndexOf("BEGIN TRANSACTION;", StringComparison.Ordinal) < lockAt);
        Assert.True(text.IndexOf("THROW 50001", StringComparison.Ordinal) < text.IndexOf("CREATE SCHEMA", StringComparison.Ordinal));
        Assert.True(lockAt < text.IndexOf("CREATE TABLE", StringComparison.Ordinal));
        Assert.EndsWith("COMMIT TRANSACTION;", text);
    }

    [Fact]
    public void ControlTablesExist()
    {
        var statement = Dialect.ControlTablesExist(Control);
        Golden("SELECT CASE WHEN OBJECT_ID(@relation, N'U') IS NULL THEN 0 ELSE 1 END", statement);
        Assert.Equal([new SqlParameter("relation", "[partitionops].[backfill_run]")], statement.Parameters);
    }

    [Fact]
    public void InsertRun() => Golden(
        """
        INSERT INTO [partitionops].[backfill_run] ([table_schema], [table_name], [column_name], [direction], [status], [host], [options])
        OUTPUT INSERTED.[run_id]
        VALUES (@table_schema, @table_name, @column_name, @direction, N'running', @host, @options)
        """,
        Dialect.InsertRunText(Control));

    [Fact]
    public void LatestRun() => Golden(
        """
        SELECT TOP (1) [run_id], [direction], [status], [host], [started_at], [ended_at]
        FROM [partitionops].[backfill_run]
        WHERE [table_schema] = @table_schema AND [table_name] = @table_name AND [column_name] = @column_name
        ORDER BY [run_id] DESC
        """,
        Dialect.LatestRunText(Control));

    [Fact]
    public void SetRunStatus() => Golden(
        """
        UPDATE [partitionops].[backfill_run]
        SET [status] = @status, [host] = @host, [ended_at] = CASE WHEN @ended = 1 THEN SYSUTCDATETIME() END
        WHERE [run_id] = @run_id
        """,
        Dialect.SetRunStatusText(Control));

    [Fact]
    public void InsertCheckpoint() => Golden(
        """
        INSERT INTO [partitionops].[backfill_checkpoint]
            ([run_id], [type_id], [type_name], [target_value], [last_key], [high_water_mark], [estimated_rows], [status])
        SELECT @run_id, @type_id, @type_name, @target_value, @last_key, @high_water_mark, @estimated_rows, N'pending'
        WHERE NOT EXISTS (SELECT 1 FROM [partitionops].[backfill_checkpoint] WITH (UPDLOCK, HOLDLOCK)
                          WHERE [run_id] = @run_id AND [type_id] = @type_id)
        """,
        Dialect.InsertCheckpointText(Control));

    [Fact]
    public void ReadCheckpoints() => Golden(
        """
        SELECT [run_id], [type_id], [type_name], [target_value], [last_key], [high_water_mark], [estimated_rows],
               [rows_scanned], [rows_updated], [batches], [lock_waits], [status], [host],
               [started_at], [updated_at], [completed_at], [last_error]
        FROM [partitionops].[backfill_checkpoint]
        WHERE [run_id] = @run_id
        ORDER BY [type_name]
        """,
        Dialect.ReadCheckpointsText(Control));

    [Fact]
    public void UpdateCheckpointStatus() => Golden(
        """
        UPDATE [partitionops].[backfill_checkpoint]
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
        """,
        Dialect.UpdateCheckpointStatusText(Control));

    [Fact]
    public void AddLockWaits() => Golden(
        """
        UPDATE [partitionops].[backfill_checkpoint]
        SET [lock_waits] = [lock_waits] + @lock_waits, [updated_at] = SYSUTCDATETIME()
        WHERE [run_id] = @run_id AND [type_id] = @type_id
        """,
        Dialect.AddLockWaitsText(Control));

    [Fact]
    public void SetStopFlag() => Golden(
        """
        SET XACT_ABORT ON;
        BEGIN TRANSACTION;
        UPDATE [partitionops].[backfill_control] WITH (UPDLOCK, HOLDLOCK)
        SET [stop_requested] = CASE WHEN @stop_requested = 1 THEN 1 ELSE 0 END, [requested_by] = @requested_by, [requested_at] = SYSUTCDATETIME()
        WHERE [table_schema] = @table_schema AND [table_name] = @table_name AND [column_name] = @column_name;
        IF @@ROWCOUNT = 0
            INSERT INTO [partitionops].[backfill_control] ([table_schema], [table_name], [column_name], [stop_requested], [requested_by], [requested_at])
            VALUES (@table_schema, @table_name, @column_name, CASE WHEN @stop_requested = 1 THEN 1 ELSE 0 END, @requested_by, SYSUTCDATETIME());
        COMMIT TRANSACTION;
        """,
        Dialect.SetStopFlagText(Control));

    [Fact]
    public void ReadStopFlag() => Golden(
        """
        SELECT COALESCE(MAX(CASE WHEN [stop_requested] = 1 THEN 1 ELSE 0 END), 0)
        FROM [partitionops].[backfill_control]
        WHERE [table_schema] = @table_schema AND [table_name] = @table_name AND [column_name] = @column_name
        """,
        Dialect.ReadStopFlagText(Control));

    [Fact]
    public void TryAcquireAppLock() => Golden(
        """
        DECLARE @result int;
        DECLARE @lock_name nvarchar(255) = CASE WHEN DATALENGTH(@resource) / 2 <= 255 THEN LOWER(@resource)
            ELSE CONCAT(LEFT(LOWER(@resource), 190), N'~', CONVERT(nvarchar(64), HASHBYTES('SHA2_256', LOWER(@resource)), 2)) END;
        EXEC @result = sys.sp_getapplock @Resource = @lock_name, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
        SELECT CASE WHEN @result >= 0 THEN 1 ELSE 0 END;
        """,
        Dialect.TryAcquireAppLockText());

    [Fact]
    public void ReleaseAppLock() => Golden(
        """
        DECLARE @lock_name nvarchar(255) = CASE WHEN DATALENGTH(@resource) / 2 <= 255 THEN LOWER(@resource)
            ELSE CONCAT(LEFT(LOWER(@resource), 190), N'~', CONVERT(nvarchar(64), HASHBYTES('SHA2_256', LOWER(@resource)), 2)) END;
        IF APPLOCK_MODE('public', @lock_name, 'Session') <> 'NoLock'
            EXEC sys.sp_releaseapplock @Resource = @lock_name, @LockOwner = 'Session';
        """,
        Dialect.ReleaseAppLockText());

    [Fact]
    public void ServerInfo() => Golden(
        """
        SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (5, 8) THEN NULL
                    ELSE CAST(SERVERPROPERTY('ProductMajorVersion') AS int) END AS major_version,
               CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (3, 5, 8) THEN 1 ELSE 0 END AS supports_online_index,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (5, 8)
                      OR (CAST(SERVERPROPERTY('EngineEdition') AS int) = 3 AND CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 15)
                    THEN 1 ELSE 0 END AS supports_resumable_index,
               CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) IN (3, 5, 8) THEN 1 ELSE 0 END AS metadata_only_add_column
        """,
        Dialect.ServerInfo());

    [Fact]
    public void SchemaExists() => Golden("SELECT CASE WHEN SCHEMA_ID(@schema) IS NULL THEN 0 ELSE 1 END", Dialect.SchemaExistsText());

    [Fact]
    public void TableInfo() => Golden(
        """
        SELECT CASE WHEN EXISTS (SELECT 1 FROM sys.indexes AS i JOIN sys.partition_schemes AS ps ON ps.data_space_id = i.data_space_id
                                 WHERE i.object_id = t.object_id AND i.index_id IN (0, 1))
                      OR (SELECT COUNT(*) FROM sys.partitions AS p WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)) > 1
                    THEN 1 ELSE 0 END AS is_partitioned
        FROM sys.tables AS t
        WHERE t.schema_id = SCHEMA_ID(@schema) AND t.name = @table
        """,
        Dialect.TableInfoText());

    [Fact]
    public void Columns() => Golden(
        """
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
        """,
        Dialect.ColumnsText());

    [Fact]
    public void Partitions() => Golden(
        """
        SELECT CAST(NULL AS sysname) AS partition_schema, CAST(NULL AS sysname) AS partition_name,
               CAST(NULL AS sysname) AS parent_schema, CAST(NULL AS sysname) AS parent_name,
               CAST(NULL AS int) AS is_leaf, CAST(NULL AS int) AS level
        WHERE 1 = 0
        """,
        Dialect.PartitionsText());

    [Fact]
    public void Indexes() => Golden(
        """
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
        """,
        Dialect.IndexesText());

    [Fact]
    public void LookupTypes() => Golden(
        """
        SELECT CAST([ResourceTypeId] AS int) AS type_id, CAST([Name] AS nvarchar(4000)) AS name
        FROM [dbo].[ResourceType]
        """,
        Dialect.LookupTypes(Fhir));

    [Fact]
    public void EstimatedRowsPerType() => Golden(
        """
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
        """,
        Dialect.EstimatedRowsPerTypeText(Fhir));

    [Fact]
    public void Permissions() => Golden(
        """
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
        """,
        Dialect.PermissionsText());

    [Fact]
    public void ThrottleSignals() => Golden(
        """
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
        """,
        Dialect.ThrottleSignals());

    [Fact]
    public void SetLockTimeout() => Golden("SET LOCK_TIMEOUT 5000", Dialect.SetLockTimeout(TimeSpan.FromSeconds(5)));

    [Fact]
    public void AddPartitionColumn() => Golden(
        """
        IF COL_LENGTH(N'[dbo].[Resource]', N'PartitionId') IS NULL
        ALTER TABLE [dbo].[Resource] ADD [PartitionId] smallint NOT NULL CONSTRAINT [DF_Resource_PartitionId] DEFAULT 2
        """,
        Dialect.AddPartitionColumn(Fhir));

    [Fact]
    public void HighWaterMark() => Golden(
        "SELECT CAST(MAX([ResourceSurrogateId]) AS bigint) FROM [dbo].[Resource] WHERE [ResourceTypeId] = @type_id",
        Dialect.HighWaterMarkText(Fhir));

    [Fact]
    public void Batch() => Golden(
        """
        SET XACT_ABORT ON;
        SET NOCOUNT ON;
        DECLARE @range_end bigint, @rows_scanned int, @rows_updated int = 0;
        SELECT @range_end = MAX(next_keys.k), @rows_scanned = COUNT(*)
        FROM (SELECT TOP (@batch_size) [ResourceSurrogateId] AS k
              FROM [dbo].[Resource]
              WHERE [ResourceTypeId] = @type_id AND [ResourceSurrogateId] > @last_key AND [ResourceSurrogateId] <= @high_water_mark
              ORDER BY [ResourceSurrogateId]) AS next_keys;
        IF @range_end IS NOT NULL
        BEGIN
            BEGIN TRANSACTION;
            UPDATE [dbo].[Resource]
            SET [PartitionId] = @target_value
            WHERE [ResourceTypeId] = @type_id AND [ResourceSurrogateId] > @last_key AND [ResourceSurrogateId] <= @range_end AND [PartitionId] <> @target_value;
            SET @rows_updated = @@ROWCOUNT;
            UPDATE [partitionops].[backfill_checkpoint]
            SET [last_key] = @range_end, [rows_scanned] = [rows_scanned] + @rows_scanned,
                [rows_updated] = [rows_updated] + @rows_updated, [batches] = [batches] + 1, [updated_at] = SYSUTCDATETIME()
            WHERE [run_id] = @run_id AND [type_id] = @type_id;
            COMMIT TRANSACTION;
        END;
        SELECT @range_end AS range_end, @rows_scanned AS rows_scanned, @rows_updated AS rows_updated;
        """,
        Dialect.BatchText(Fhir));

    [Fact]
    public void Sweep() => Golden(
        """
        SET XACT_ABORT ON;
        SET NOCOUNT ON;
        DECLARE @rows_updated int;
        BEGIN TRANSACTION;
        UPDATE TOP (@batch_size) [dbo].[Resource]
        SET [PartitionId] = @target_value
        WHERE [ResourceTypeId] = @type_id AND [ResourceSurrogateId] <= @upto_key AND [PartitionId] = @source_value
        OPTION (RECOMPILE);
        SET @rows_updated = @@ROWCOUNT;
        IF @rows_updated > 0
            UPDATE [partitionops].[backfill_checkpoint]
            SET [rows_updated] = [rows_updated] + @rows_updated, [batches] = [batches] + 1, [updated_at] = SYSUTCDATETIME()
            WHERE [run_id] = @run_id AND [type_id] = @type_id;
        COMMIT TRANSACTION;
        SELECT @rows_updated AS rows_updated;
        """,
        Dialect.SweepText(Fhir));

    [Fact]
    public void ExactCounts() => Golden(
        """
        SELECT CAST([ResourceTypeId] AS int) AS type_id, COUNT_BIG(*) AS total_rows,
               SUM(CASE WHEN [PartitionId] = @system_value THEN CAST(1 AS bigint) ELSE 0 END) AS system_rows,
               SUM(CASE WHEN [PartitionId] = @default_value THEN CAST(1 AS bigint) ELSE 0 END) AS default_rows
        FROM [dbo].[Resource]
        GROUP BY [ResourceTypeId]
        """,
        Dialect.ExactCountsText(Fhir));

    [Fact]
    public void Misplaced() => Golden(
        """
        SELECT CAST([ResourceTypeId] AS int) AS type_id, COUNT_BIG(*) AS misplaced_rows
        FROM [dbo].[Resource]
        WHERE ([ResourceTypeId] IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND [PartitionId] <> @system_value)
           OR ([ResourceTypeId] NOT IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND [PartitionId] <> @default_value)
        GROUP BY [ResourceTypeId]
        """,
        Dialect.MisplacedText(Fhir, BackfillProfile.FhirSystemTypes.Count));

    [Fact]
    public void MisplacedSinceRun() => Golden(
        """
        SELECT CAST(r.[ResourceTypeId] AS int) AS type_id, COUNT_BIG(*) AS misplaced_rows,
               SUM(CASE WHEN r.[ResourceSurrogateId] > c.[high_water_mark] THEN CAST(1 AS bigint) ELSE CAST(0 AS bigint) END) AS written_after_run
        FROM [dbo].[Resource] AS r
        LEFT JOIN [partitionops].[backfill_checkpoint] AS c ON c.[run_id] = @run_id AND c.[type_id] = r.[ResourceTypeId]
        WHERE (r.[ResourceTypeId] IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND r.[PartitionId] <> @system_value)
           OR (r.[ResourceTypeId] NOT IN (@sys_0, @sys_1, @sys_2, @sys_3, @sys_4, @sys_5, @sys_6) AND r.[PartitionId] <> @default_value)
        GROUP BY r.[ResourceTypeId]
        """,
        Dialect.MisplacedSinceRunText(Fhir, BackfillProfile.FhirSystemTypes.Count));

    [Fact]
    public void BuildFilteredIndex_creates_both_missing_indexes_online_without_resumable_because_they_are_filtered()
    {
        var system = Dialect.BuildFilteredIndex(Fhir,
            new FilteredIndex(Fhir.Profile.SystemIndexName, Fhir.Profile.IndexColumns, Fhir.Profile.SystemValue),
            [], [], new IndexBuildOptions());
        var @default = Dialect.BuildFilteredIndex(Fhir,
            new FilteredIndex(Fhir.Profile.DefaultIndexName, Fhir.Profile.IndexColumns, Fhir.Profile.DefaultValue),
            [], [], new IndexBuildOptions());
        Golden(
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] " +
                "([ResourceTypeId], [ResourceId], [Version]) WHERE [PartitionId] = 1 WITH (ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = " +
                "PAGE)",
            Assert.Single(system));
        Golden(
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] " +
                "([ResourceTypeId], [ResourceId], [Version]) WHERE [PartitionId] = 2 WITH (ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = " +
                "PAGE)",
            Assert.Single(@default));
    }

    [Fact]
    public void BuildFilteredIndex_builds_the_prototype_s_four_indexes_with_include_and_the_extra_predicate()
    {
        var table = new BackfillTable("dbo", BackfillProfile.FhirPrototype, Control);
        var texts = BackfillProfile.FhirPrototype.FilteredIndexes()
            .Select(i => Assert.Single(Dialect.BuildFilteredIndex(table, i, [], [], new IndexBuildOptions())).Text).ToList();
        Assert.Equal(
        [
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] " +
                "([ResourceTypeId], [ResourceId], [Version]) WHERE [PartitionId] = 1 WITH (ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = " +
                "PAGE)",
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] " +
                "([ResourceTypeId], [ResourceId], [Version]) WHERE [PartitionId] = 2 WITH (ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = " +
                "PAGE)",
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId] ON [dbo].[Resource] " +
                "([ResourceTypeId], [ResourceId]) INCLUDE ([Version], [IsDeleted]) WHERE [PartitionId] = 1 AND [IsHistory] = 0 WITH " +
                "(ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = PAGE)",
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_DefaultPartition_ResourceTypeId_ResourceId] ON [dbo].[Resource] " +
                "([ResourceTypeId], [ResourceId]) INCLUDE ([Version], [IsDeleted]) WHERE [PartitionId] = 2 AND [IsHistory] = 0 WITH " +
                "(ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = PAGE)",
        ], texts);
    }

    [Fact]
    public void A_paused_resumable_build_resumes_with_the_maxdop_it_last_ran_with_not_the_requested_one()
    {
        var paused = new IndexState("dbo", "Resource", Fhir.Profile.SystemIndexName, false, true) { PausedMaxDop = 2 };
        var statement = Assert.Single(Dialect.BuildFilteredIndex(Fhir,
            new FilteredIndex(Fhir.Profile.SystemIndexName, Fhir.Profile.IndexColumns, 1),
            [paused], [], new IndexBuildOptions { MaxDop = 8 }));
        Golden("ALTER INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] RESUME WITH (MAXDOP = 2, " +
            "MAX_DURATION = 240 MINUTES)",
            statement);
    }

    [Fact]
    public void ViewBaseTables() => Golden(
        """
        SELECT DISTINCT COALESCE(d.referenced_schema_name, OBJECT_SCHEMA_NAME(d.referenced_id), s.name) AS base_schema,
               d.referenced_entity_name AS base_table
        FROM sys.views AS v
        JOIN sys.schemas AS s ON s.schema_id = v.schema_id
        JOIN sys.sql_expression_dependencies AS d ON d.referencing_id = v.object_id
        WHERE s.name = @schema AND v.name = @table AND d.referenced_minor_id = 0 AND d.referenced_database_name IS NULL
          AND (d.referenced_id IS NULL OR OBJECTPROPERTY(d.referenced_id, 'IsUserTable') = 1 OR OBJECTPROPERTY(d.referenced_id, 'IsView') = 1)
        ORDER BY base_schema, base_table
        """,
        Dialect.ViewBaseTablesText());

    [Fact]
    public void TableRowEstimate() => Golden(
        """
        SELECT COALESCE(SUM(p.rows), 0) AS table_rows
        FROM sys.partitions AS p
        WHERE p.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'U') AND p.index_id IN (0, 1)
        """,
        Dialect.TableRowEstimateText());

    [Fact]
    public void MaxRowBytes() => Golden(
        """
        SELECT CAST(4 + 2 + (COUNT(*) + 7) / 8 + 2
                    + SUM(CASE WHEN c.max_length = -1 THEN 24 + 2
                               WHEN ty.name IN (N'varchar', N'nvarchar', N'varbinary', N'sql_variant') THEN c.max_length + 2
                               ELSE c.max_length END) AS int) AS max_row_bytes
        FROM sys.columns AS c
        JOIN sys.types AS ty ON ty.user_type_id = c.system_type_id
        LEFT JOIN sys.computed_columns AS cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id
        WHERE c.object_id = OBJECT_ID(QUOTENAME(@schema) + N'.' + QUOTENAME(@table), N'U') AND COALESCE(cc.is_persisted, 1) = 1
        """,
        Dialect.MaxRowBytesText());
}
