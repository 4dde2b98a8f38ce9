using System.Globalization;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;

namespace PartitionOps.Engine.Providers.Oracle;

/// <summary>
/// ILM on Oracle 12.2+. Merges name the higher-bound partition as the result and then rename it
/// (ORA-14275: the result may only reuse the highest source's name), always state TABLESPACE and
/// compression (a merged partition otherwise takes the table's defaults) and UPDATE INDEXES, or ONLINE
/// on 18c+ when the policy asks (it maintains the indexes itself). Syntax:
/// https://docs.oracle.com/cd/F82042_01/sqlrf/img_text/merge_table_partitions.html
/// (MERGE PARTITIONS p1, p2, ... INTO partition_spec [update_index_clauses] [ONLINE]).
/// DDL is not transactional: a crash between the merge and the rename is reconciled on the next run.
/// Unqualified names use the connected user's schema; names are folded to upper case, as Oracle does
/// with unquoted names, and then quoted.
/// </summary>
public sealed class OracleIlmDialect : IIlmDialect
{
    public static readonly OracleIlmDialect Instance = new();

    /// <summary>
    /// ONLINE MERGE PARTITIONS exists from 18c on (MOVE PARTITION from 12c); one switch for both keeps plans predictable.
    /// </summary>
    public const int OnlineFromVersion = 18;

    public string ProviderName => "oracle";
    public bool MultiPartitionMerge => true;
    public bool MergeRewritesTarget => true;
    public bool TransactionalDdl => false;
    public string? DefaultSchema => null;
    public string? DefaultControlSchema => null;

    public string NormalizeName(string name) => name.ToUpperInvariant();

    private static string Q(string name) => Identifier.Quote(OracleProvider.Quotable(name).ToUpperInvariant(), '"', '"');

    private static string Qualified(string? schema, string name) => string.IsNullOrEmpty(schema) ? Q(name) : Q(schema) + "." + Q(name);

    private static string Table(PartitionLayout t) => Qualified(t.Schema, t.Table);

    private static string Control(string? schema, string table) => Qualified(schema, table);

    private static SqlParameter P(string name, object? value) => new(name, value);

    private const string CurrentSchema = "SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')";

    /// <summary>The compression clause of a segment: NONE, BASIC, ADVANCED.</summary>
    public static string CompressionClause(string compression) => compression.ToUpperInvariant() switch
    {
        "NONE" => "NOCOMPRESS",
        "BASIC" => "ROW STORE COMPRESS BASIC",
        "ADVANCED" => "ROW STORE COMPRESS ADVANCED",
        var other => throw new InvalidRequestException(
            nameof(IlmRunRequest.Policy), "compression", other, "is not supported: use NONE, BASIC or ADVANCED"),
    };

    // Not on an index-organized table: ORA-14808 (https://docs.oracle.com/en/error-help/db/ora-14808) refuses MOVE PARTITION
    // ONLINE on anything but a heap-organized table, and ONLINE merges are documented for heap tables
    // (https://oracle-base.com/articles/18c/online-merge-partition-and-subpartition-18c). The plan says so on each action
    // (PartitionLayout.OnlineUnavailableReason), and UPDATE INDEXES keeps the indexes usable instead.
    private static bool Online(PartitionLayout t, bool online) =>
        online && t.ServerMajorVersion >= OnlineFromVersion && t.OnlineUnavailableReason is null;

    // ---- catalog ----

    public SqlStatement ServerVersion() =>
        new("SELECT TO_NUMBER(REGEXP_SUBSTR(version, '^[0-9]+')) FROM product_component_version " +
            "WHERE product LIKE 'Oracle%' AND ROWNUM = 1");

    // ALL_TABLES.IOT_TYPE is IOT (or IOT_OVERFLOW, IOT_MAPPING) for an index-organized table and NULL for a heap table
    // (https://docs.oracle.com/cd/E11882_01/server.112/e40402/statviews_2117.htm); merging more than two partitions is
    // only supported for heap tables (ORA-14806: https://docs.oracle.com/en/error-help/db/ora-14806).
    public SqlStatement TableInfo(string? schema, string table) => SqlStatement.Of($"""
        SELECT t.owner AS table_owner,
               t.table_name,
               pt.partitioning_type,
               pt.partitioning_key_count AS key_count,
               (SELECT MAX(k.column_name) FROM all_part_key_columns k
                WHERE k.owner = t.owner AND k.name = t.table_name AND k.object_type = 'TABLE') AS partition_key,
               CASE WHEN pt.interval IS NULL THEN 0 ELSE 1 END AS is_interval,
               CASE WHEN pt.subpartitioning_type IS NULL OR pt.subpartitioning_type = 'NONE' THEN 0 ELSE 1 END AS is_composite,
               CASE WHEN t.iot_type IS NULL THEN 0 ELSE 1 END AS is_iot
        FROM all_tables t
        LEFT JOIN all_part_tables pt ON pt.owner = t.owner AND pt.table_name = t.table_name
        WHERE t.owner = COALESCE(:owner, {CurrentSchema}) AND t.table_name = :table_name
        """, P("owner", schema is null ? null : NormalizeName(schema)), P("table_name", NormalizeName(table)));

    /// <summary>ALL_TAB_PARTITIONS.HIGH_VALUE_JSON and HIGH_VALUE_CLOB exist from this version (23ai) on.</summary>
    public const int HighValueJsonFromVersion = 23;

    /// <summary>
    /// The 12.2-to-21c query (reads the LONG HIGH_VALUE); <see cref="Partitions(string, string, int?)"/> picks by version.
    /// </summary>
    public SqlStatement Partitions(string owner, string table) => Partitions(owner, table, null);

    // Before 23ai the bound is only in HIGH_VALUE, a LONG holding the bound's SQL text: the provider sets
    // InitialLONGFetchSize = -1 so it arrives whole. 23ai adds HIGH_VALUE_JSON (type JSON) and HIGH_VALUE_CLOB (the same
    // text as HIGH_VALUE in a CLOB) to ALL_TAB_PARTITIONS (https://oracle-base.com/articles/23c/enhanced-partitioning-metadata-23c,
    // https://danischnider.wordpress.com/2023/04/16/enhanced-partitioning-metadata-in-oracle-23c/): there the JSON is read,
    // made text by JSON_SERIALIZE (default return type VARCHAR2(4000):
    // https://docs.oracle.com/en/database/oracle/oracle-database/23/sqlrf/JSON_SERIALIZE.html), and the CLOB is the
    // fallback when the JSON is not in the shape OracleHighValue.TryParseJson knows. No LONG is read on 23ai.
    public SqlStatement Partitions(string owner, string table, int? serverMajorVersion)
    {
        var bound = serverMajorVersion >= HighValueJsonFromVersion
            ? """
              JSON_SERIALIZE(p.high_value_json RETURNING VARCHAR2(4000)) AS bound_text,
                     p.high_value_clob AS bound_text_fallback,
              """
            : "p.high_value AS bound_text,";
        return SqlStatement.Of($"""
            SELECT p.partition_name,
                   p.partition_position,
                   {bound}
                   p.tablespace_name,
                   CASE WHEN p.compression = 'ENABLED' THEN p.compress_for ELSE 'NONE' END AS compression,
                   p.num_rows AS row_estimate,
                   CASE WHEN p.interval = 'YES' THEN 1 ELSE 0 END AS is_interval
            FROM all_tab_partitions p
            WHERE p.table_owner = :owner AND p.table_name = :table_name
            ORDER BY p.partition_position
            """, P("owner", owner), P("table_name", table));
    }

    public SqlStatement? Columns(string owner, string table) => null;

    // USER_TABLESPACES: the tablespaces accessible to the current user
    // (https://docs.oracle.com/en/database/oracle/oracle-database/23/refrn/USER_TABLESPACES.html).
    public SqlStatement Tablespaces() => new("SELECT tablespace_name FROM user_tablespaces ORDER BY tablespace_name");

    /// <summary>Oracle stores only upper bounds; lower bounds follow from the partition before.</summary>
    public PartitionBound? ParseBound(string boundText) =>
        OracleHighValue.TryParse(boundText, out var upper) ? new PartitionBound(null, upper) : null;

    // ---- work ----

    // DDL_LOCK_TIMEOUT cannot be bound; the value is an int, never text from a user.
    public SqlStatement SetLockTimeout(int seconds) =>
        new("ALTER SESSION SET DDL_LOCK_TIMEOUT = " + seconds.ToString(CultureInfo.InvariantCulture));

    public IReadOnlyList<SqlStatement> Move(PartitionLayout table, MoveAction move, bool online) =>
    [
        new($"ALTER TABLE {Table(table)} MOVE PARTITION {Q(move.PartitionName)} TABLESPACE {Q(move.ToTablespace)} " +
            $"{CompressionClause(move.Compression)} UPDATE INDEXES{(Online(table, online) ? " ONLINE" : "")}"),
    ];

    public MergeScript Merge(PartitionLayout table, MergeAction merge, bool online)
    {
        // ORA-14275: the merged partition may only take the highest source's name, so merge into it and rename.
        var highest = merge.Sources[^1];
        // ONLINE (18c+) keeps DML going and maintains local and global indexes itself, so it replaces
        // UPDATE INDEXES: https://oracle-base.com/articles/18c/online-merge-partition-and-subpartition-18c
        var statements = new List<SqlStatement>
        {
            new($"ALTER TABLE {Table(table)} MERGE PARTITIONS {string.Join(", ", merge.Sources.Select(Q))} " +
                $"INTO PARTITION {Q(highest)} TABLESPACE {Q(merge.Tablespace)} {CompressionClause(merge.Compression)} " +
                (Online(table, online) ? "ONLINE" : "UPDATE INDEXES")),
        };
        if (!string.Equals(highest, merge.TargetName, StringComparison.OrdinalIgnoreCase))
            statements.Add(new($"ALTER TABLE {Table(table)} RENAME PARTITION {Q(highest)} TO {Q(merge.TargetName)}"));
        return new MergeScript([], [], statements);
    }

    // No index verification on Oracle (ilm health --verify-indexes says so): its check, ANALYZE INDEX ... VALIDATE STRUCTURE,
    // runs OFFLINE by default, which locks the table against DML while it reads the index
    // (https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/ANALYZE.html), and a health check must not block.
    // Oracle's merges are single DDL statements that maintain their indexes, so they leave no damage of the PostgreSQL kind.
    public Ilm.Monitoring.IIlmIndexChecks? IndexChecks => null;

    public IReadOnlyList<SqlStatement> Rename(PartitionLayout table, RenameAction rename) =>
        [new($"ALTER TABLE {Table(table)} RENAME PARTITION {Q(rename.PartitionName)} TO {Q(rename.NewName)}")];

    // ---- per-table run lock: DBMS_LOCK (DESIGN §4) ----
    // https://docs.oracle.com/en/database/oracle/oracle-database/18/arpls/DBMS_LOCK.html
    // ALLOCATE_UNIQUE maps a name to a lock handle but COMMITs; ALLOCATE_UNIQUE_AUTONOMOUS (12.2+) does the same in an
    // autonomous transaction, so the caller's session is not committed. REQUEST(handle, X_MODE, timeout, release_on_commit)
    // returns 0 success, 1 timeout, 2 deadlock, 3 parameter error, 4 already own the lock, 5 illegal handle; timeout 0
    // never waits. release_on_commit FALSE keeps the lock across the commits every Oracle DDL makes; it lasts until
    // RELEASE (0 success, 3 parameter error, 4 do not own the lock, 5 illegal handle) or the end of the session.
    // DBMS_LOCK is called through EXECUTE IMMEDIATE: without EXECUTE on it a static call makes the whole block fail to
    // compile (PLS-00201), while a dynamic one fails at run time with ORA-06550, which the block turns into an error
    // naming the grant. The dynamic text has no quotes, so it sits in a plain literal.

    /// <summary>The grant DBMS_LOCK needs: EXECUTE is not granted to PUBLIC by default.</summary>
    public const string LockGrant = "GRANT EXECUTE ON SYS.DBMS_LOCK TO";

    /// <summary>ORA-20000 text raised when the connected user may not execute DBMS_LOCK.</summary>
    public const string MissingLockGrantMessage =
        "PartitionOps ILM takes a DBMS_LOCK lock per table so that two runs never work the same table, " +
        "and this user may not execute SYS.DBMS_LOCK: ";

    /// <summary>
    /// The DBMS_LOCK name of one table's ILM runs. Lock names are at most 128 bytes and must not start with ORA$;
    /// a longer one (two 128-byte identifiers) is replaced by a hash of itself.
    /// </summary>
    public static string LockName(string owner, string table)
    {
        var name = $"PARTITIONOPS.ILM.{owner}.{table}";
        if (System.Text.Encoding.UTF8.GetByteCount(name) <= 128) return name;
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)));
        return "PARTITIONOPS.ILM." + hash;
    }

    private const string LockGrantHandler =
        "EXCEPTION\n" +
        "  WHEN OTHERS THEN\n" +
        "    IF SQLCODE = -6550 THEN\n" +
        "      RAISE_APPLICATION_ERROR(-20000, '" + MissingLockGrantMessage + LockGrant + " ' || USER, TRUE);\n" +
        "    END IF;\n" +
        "    RAISE;\n" +
        "END;";

    /// <summary>
    /// Output :locked = 1 when this session now holds the table's lock (or already held it), 0 when another session
    /// does; ORA-20000 naming the grant when DBMS_LOCK may not be executed, ORA-20001 for any other REQUEST result.
    /// </summary>
    public SqlStatement? TryLockTable(string owner, string table) => SqlStatement.Of(
        "DECLARE\n" +
        "  request_result INTEGER;\n" +
        "BEGIN\n" +
        "  EXECUTE IMMEDIATE 'DECLARE handle VARCHAR2(128); BEGIN " +
        "DBMS_LOCK.ALLOCATE_UNIQUE_AUTONOMOUS(lockname => :name, lockhandle => handle); " +
        ":result := DBMS_LOCK.REQUEST(lockhandle => handle, lockmode => DBMS_LOCK.X_MODE, timeout => 0, " +
        "release_on_commit => FALSE); END;'\n" +
        "    USING IN :lock_name, OUT request_result;\n" +
        "  IF request_result IN (0, 4) THEN\n" +
        "    :locked := 1;\n" +
        "  ELSIF request_result = 1 THEN\n" +
        "    :locked := 0;\n" +
        "  ELSE\n" +
        "    RAISE_APPLICATION_ERROR(-20001, 'DBMS_LOCK.REQUEST returned ' || request_result);\n" +
        "  END IF;\n" +
        LockGrantHandler,
        P("lock_name", LockName(owner, table)), SqlParameter.Output("locked", System.Data.DbType.Int32));

    /// <summary>Releases the table's lock; 4 (not held by this session) is not an error.</summary>
    public SqlStatement? UnlockTable(string owner, string table) => SqlStatement.Of(
        "DECLARE\n" +
        "  release_result INTEGER;\n" +
        "BEGIN\n" +
        "  EXECUTE IMMEDIATE 'DECLARE handle VARCHAR2(128); BEGIN " +
        "DBMS_LOCK.ALLOCATE_UNIQUE_AUTONOMOUS(lockname => :name, lockhandle => handle); " +
        ":result := DBMS_LOCK.RELEASE(lockhandle => handle); END;'\n" +
        "    USING IN :lock_name, OUT release_result;\n" +
        "  IF release_result NOT IN (0, 4) THEN\n" +
        "    RAISE_APPLICATION_ERROR(-20001, 'DBMS_LOCK.RELEASE returned ' || release_result);\n" +
        "  END IF;\n" +
        LockGrantHandler,
        P("lock_name", LockName(owner, table)));

    public SqlStatement CountRows(PartitionLayout table, string partition) =>
        new($"SELECT COUNT(*) FROM {Table(table)} PARTITION ({Q(partition)})");

    // ---- control tables ----

    /// <summary>Oracle before 23ai has no CREATE TABLE IF NOT EXISTS: ignore ORA-00955 (name already used).</summary>
    private static SqlStatement CreateIfMissing(string ddl) => new(
        "BEGIN\n" +
        $"  EXECUTE IMMEDIATE '{ddl.Replace("'", "''")}';\n" +
        "EXCEPTION WHEN OTHERS THEN\n" +
        "  IF SQLCODE != -955 THEN RAISE; END IF;\n" +
        "END;");

    public IReadOnlyList<SqlStatement> CreateControlTables(string? controlSchema)
    {
        var merges = Control(controlSchema, "dwh_ilm_partition_merges");
        return
        [
            // The spec's table; IN_PROGRESS marks a merge under way so an interrupted merge-then-rename
            // can be reconciled on the next run.
            CreateIfMissing($"""
            CREATE TABLE {merges} (
                merge_id            NUMBER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                merge_date          TIMESTAMP DEFAULT SYSTIMESTAMP,
                table_owner         VARCHAR2(128) NOT NULL,
                table_name          VARCHAR2(128) NOT NULL,
                source_partition    VARCHAR2(128) NOT NULL,
                target_partition    VARCHAR2(128) NOT NULL,
                merge_status        VARCHAR2(20) NOT NULL,
                error_message       VARCHAR2(4000),
                duration_seconds    NUMBER,
                rows_merged         NUMBER,
                CONSTRAINT chk_merge_status CHECK (merge_status IN ('SUCCESS', 'FAILED', 'SKIPPED', 'IN_PROGRESS'))
            )
            """),
            // A table created from the spec's DDL lacks IN_PROGRESS in its check: widen it once.
            new($"""
            DECLARE
              n NUMBER;
            BEGIN
              SELECT COUNT(*) INTO n FROM all_constraints
              WHERE owner = {(controlSchema is null ? CurrentSchema : "'" + NormalizeName(controlSchema) + "'")}
                AND table_name = 'DWH_ILM_PARTITION_MERGES' AND constraint_name = 'CHK_MERGE_STATUS'
                AND search_condition_vc NOT LIKE '%IN_PROGRESS%';
              IF n > 0 THEN
                EXECUTE IMMEDIATE 'ALTER TABLE {merges} DROP CONSTRAINT chk_merge_status';
                EXECUTE IMMEDIATE 'ALTER TABLE {merges} ADD CONSTRAINT chk_merge_status CHECK (merge_status IN (''SUCCESS'', ''FAILED'', ''SKIPPED'', ''IN_PROGRESS''))';
              END IF;
            END;
            """),
            CreateIfMissing($"""
            CREATE TABLE {Control(controlSchema, "dwh_ilm_config")} (
                config_key          VARCHAR2(100) PRIMARY KEY,
                config_value        VARCHAR2(4000),
                description         VARCHAR2(4000)
            )
            """),
            CreateIfMissing($"""
            CREATE TABLE {Control(controlSchema, "dwh_ilm_execution_log")} (
                execution_id        NUMBER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                execution_date      TIMESTAMP DEFAULT SYSTIMESTAMP,
                table_owner         VARCHAR2(128) NOT NULL,
                table_name          VARCHAR2(128) NOT NULL,
                partition_name      VARCHAR2(128) NOT NULL,
                action              VARCHAR2(20) NOT NULL,
                source_tablespace   VARCHAR2(128),
                target_tablespace   VARCHAR2(128),
                status              VARCHAR2(20) NOT NULL,
                error_message       VARCHAR2(4000),
                duration_seconds    NUMBER,
                sql_text            VARCHAR2(4000)
            )
            """),
        ];
    }

    // ALL_TABLES: the tables the current user can see, by OWNER and TABLE_NAME (Database Reference, static data
    // dictionary views: https://docs.oracle.com/en/database/oracle/oracle-database/19/refrn/static-data-dictionary-views-1.html).
    // Unquoted names are stored upper case; the control schema defaults to the connected user's (CURRENT_SCHEMA).
    public SqlStatement ControlTableExists(string? controlSchema, string table) => SqlStatement.Of(
        $"SELECT COUNT(*) FROM all_tables WHERE owner = COALESCE(:owner, {CurrentSchema}) AND table_name = :table_name",
        P("owner", controlSchema is null ? null : NormalizeName(controlSchema)), P("table_name", NormalizeName(table)));

    public SqlStatement SeedConfig(string? controlSchema, string key, string value, string description) => SqlStatement.Of(
        $"MERGE INTO {Control(controlSchema, "dwh_ilm_config")} c " +
        "USING (SELECT :config_key AS config_key, :config_value AS config_value, :description AS description FROM dual) s " +
        "ON (c.config_key = s.config_key) " +
        "WHEN NOT MATCHED THEN INSERT (config_key, config_value, description) VALUES (s.config_key, s.config_value, s.description)",
        P("config_key", key), P("config_value", value), P("description", description));

    public SqlStatement SetConfig(string? controlSchema, string key, string value, string? description) => SqlStatement.Of(
        $"MERGE INTO {Control(controlSchema, "dwh_ilm_config")} c " +
        "USING (SELECT :config_key AS config_key, :config_value AS config_value, :description AS description FROM dual) s " +
        "ON (c.config_key = s.config_key) " +
        "WHEN MATCHED THEN UPDATE SET c.config_value = s.config_value, c.description = COALESCE(s.description, c.description) " +
        "WHEN NOT MATCHED THEN INSERT (config_key, config_value, description) VALUES (s.config_key, s.config_value, s.description)",
        P("config_key", key), P("config_value", value), P("description", description));

    /// <summary>The audit, log and config statements shared with the other dialects.</summary>
    private static readonly IlmControlSql ControlSql =
        new(n => ":" + n, p => $"SYSTIMESTAMP - NUMTODSINTERVAL({p}, 'DAY')", p => $"FETCH FIRST {p} ROWS ONLY");

    public SqlStatement ReadConfig(string? controlSchema) => ControlSql.ReadConfig(Control(controlSchema, "dwh_ilm_config"));

    public SqlStatement InsertMergeAudit(string? controlSchema, MergeAuditEntry e) =>
        ControlSql.InsertMergeAudit(Control(controlSchema, "dwh_ilm_partition_merges"), e);

    public SqlStatement CompleteMergeAudit(string? controlSchema, MergeAuditEntry e) =>
        ControlSql.CompleteMergeAudit(Control(controlSchema, "dwh_ilm_partition_merges"), e);

    public SqlStatement MergeHistory(string? controlSchema, string? owner, string? table, int maxRows) =>
        ControlSql.MergeHistory(Control(controlSchema, "dwh_ilm_partition_merges"),
            owner is null ? null : NormalizeName(owner), table is null ? null : NormalizeName(table), maxRows);

    public SqlStatement InProgressMerges(string? controlSchema, string owner, string table) =>
        ControlSql.InProgressMerges(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table);

    public SqlStatement LatestMergeStatus(string? controlSchema, string owner, string table) =>
        ControlSql.LatestMergeStatus(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table);

    public SqlStatement MergeStatistics(string? controlSchema, string? table, int days) =>
        ControlSql.MergeStatistics(Control(controlSchema, "dwh_ilm_partition_merges"), table is null ? null : NormalizeName(table), days);

    public SqlStatement StaleFailedMerges(string? controlSchema, string? table, int days) =>
        ControlSql.StaleFailedMerges(Control(controlSchema, "dwh_ilm_partition_merges"), table is null ? null : NormalizeName(table), days);

    public SqlStatement InsertExecutionLog(string? controlSchema, ExecutionLogEntry e) =>
        ControlSql.InsertExecutionLog(Control(controlSchema, "dwh_ilm_execution_log"), e);
}
