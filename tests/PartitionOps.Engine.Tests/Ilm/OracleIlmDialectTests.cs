using System.Data.Common;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.Oracle;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>Golden SQL of the Oracle ILM dialect: the exact text that would run.</summary>
public sealed class OracleIlmDialectTests
{
    private static readonly OracleIlmDialect D = OracleIlmDialect.Instance;

    private static PartitionLayout Table(int? version = 19, string schema = "CMR") =>
        new() { Schema = schema, Table = "SALES_PART", ServerMajorVersion = version, Partitions = [new PartitionInfo { Name = "P_2023" }] };

    private static MergeAction Merge(string target, params string[] sources) =>
        new(target, sources, IlmTier.Warm, "TBS_WARM", "BASIC", null, new DateTime(2024, 1, 1), "TBS_WARM", 1000, 200, 1200);

    [Fact]
    public void Lock_timeout_is_a_session_setting()
    {
        Assert.Equal("ALTER SESSION SET DDL_LOCK_TIMEOUT = 30", D.SetLockTimeout(30).Text);
    }

    [Fact]
    public void Move_states_tablespace_compression_and_update_indexes()
    {
        var move = new MoveAction("P_2023_11", "TBS_HOT", "TBS_WARM", "BASIC", IlmTier.Warm, 100);
        Assert.Equal(
            "ALTER TABLE \"CMR\".\"SALES_PART\" MOVE PARTITION \"P_2023_11\" TABLESPACE \"TBS_WARM\" ROW STORE COMPRESS BASIC UPDATE " +
                "INDEXES",
            Assert.Single(D.Move(Table(), move, online: false)).Text);
        Assert.Equal(
            "ALTER TABLE \"CMR\".\"SALES_PART\" MOVE PARTITION \"P_2023_11\" TABLESPACE \"TBS_WARM\" ROW STORE COMPRESS BASIC UPDATE " +
                "INDEXES ONLINE",
            Assert.Single(D.Move(Table(19), move, online: true)).Text);
        // 12.2 has no ONLINE merge: the switch stays off below 18c.
        Assert.DoesNotContain("ONLINE", Assert.Single(D.Move(Table(12), move, online: true)).Text);
        Assert.Contains(" NOCOMPRESS ", Assert.Single(D.Move(Table(), move with { Compression = "NONE" }, false)).Text);
        Assert.Contains(" ROW STORE COMPRESS ADVANCED ",
            Assert.Single(D.Move(Table(), move with { Compression = "ADVANCED" }, false)).Text);
    }

    [Fact]
    public void Merge_goes_into_the_highest_source_then_renames_it()
    {
        var script = D.Merge(Table(), Merge("P_2023", "P_2023", "P_2023_11", "P_2023_12"), online: false);
        Assert.Empty(script.Prepare);
        Assert.Empty(script.Lock);
        Assert.Equal(
        [
            "ALTER TABLE \"CMR\".\"SALES_PART\" MERGE PARTITIONS \"P_2023\", \"P_2023_11\", \"P_2023_12\" INTO PARTITION \"P_2023_12\" " +
                "TABLESPACE \"TBS_WARM\" ROW STORE COMPRESS BASIC UPDATE INDEXES",
            "ALTER TABLE \"CMR\".\"SALES_PART\" RENAME PARTITION \"P_2023_12\" TO \"P_2023\"",
        ], script.Merge.Select(s => s.Text));
    }

    [Fact]
    public void Online_merge_on_18c_and_later()
    {
        var script = D.Merge(Table(23), Merge("P_2023", "P_2023", "P_2023_11"), online: true);
        Assert.Equal(
            "ALTER TABLE \"CMR\".\"SALES_PART\" MERGE PARTITIONS \"P_2023\", \"P_2023_11\" INTO PARTITION \"P_2023_11\" TABLESPACE " +
                "\"TBS_WARM\" ROW STORE COMPRESS BASIC ONLINE",
            script.Merge[0].Text);
        Assert.EndsWith("UPDATE INDEXES", D.Merge(Table(12), Merge("P_2023", "P_2023", "P_2023_11"), online: true).Merge[0].Text);
    }

    [Fact]
    public void No_online_on_an_index_organized_table_whatever_the_version()
    {
        // ORA-14808: MOVE PARTITION ONLINE only on heap-organized tables; ONLINE merges are documented for heap tables.
        var iot = Table(23) with { IsIndexOrganized = true };
        var move = new MoveAction("P_2023_11", "TBS_HOT", "TBS_WARM", "BASIC", IlmTier.Warm, 100);
        Assert.Equal(
            "ALTER TABLE \"CMR\".\"SALES_PART\" MOVE PARTITION \"P_2023_11\" TABLESPACE \"TBS_WARM\" ROW STORE COMPRESS BASIC UPDATE " +
                "INDEXES",
            Assert.Single(D.Move(iot, move, online: true)).Text);
        Assert.Equal(
            "ALTER TABLE \"CMR\".\"SALES_PART\" MERGE PARTITIONS \"P_2023\", \"P_2023_11\" INTO PARTITION \"P_2023_11\" TABLESPACE " +
                "\"TBS_WARM\" ROW STORE COMPRESS BASIC UPDATE INDEXES",
            D.Merge(iot, Merge("P_2023", "P_2023", "P_2023_11"), online: true).Merge[0].Text);
        // The same table as a heap table keeps ONLINE.
        Assert.EndsWith(" ONLINE", D.Merge(iot with { IsIndexOrganized = false }, Merge("P_2023", "P_2023", "P_2023_11"), online: true)
            .Merge[0].Text);
    }

    [Fact]
    public void Rename_and_count()
    {
        Assert.Equal("ALTER TABLE \"CMR\".\"SALES_PART\" RENAME PARTITION \"P_2024_01\" TO \"P_2024\"",
            Assert.Single(D.Rename(Table(), new RenameAction("P_2024_01", "P_2024", "January"))).Text);
        Assert.Equal("SELECT COUNT(*) FROM \"CMR\".\"SALES_PART\" PARTITION (\"P_2023\")", D.CountRows(Table(), "P_2023").Text);
        // No schema: the connected user's.
        Assert.Equal("SELECT COUNT(*) FROM \"SALES_PART\" PARTITION (\"P_2023\")", D.CountRows(Table(schema: ""), "P_2023").Text);
    }

    [Fact]
    public void Names_fold_to_upper_case_like_unquoted_oracle_names()
    {
        var move = new MoveAction("p_2023_11", "tbs_hot", "tbs_warm", "BASIC", IlmTier.Warm, 100);
        var layout = Table() with { Schema = "cmr", Table = "sales_part" };
        Assert.StartsWith("ALTER TABLE \"CMR\".\"SALES_PART\" MOVE PARTITION \"P_2023_11\" TABLESPACE \"TBS_WARM\"",
            D.Move(layout, move, false)[0].Text);
        var info = D.TableInfo("cmr", "sales_part");
        Assert.Equal([("owner", "CMR"), ("table_name", "SALES_PART")], info.Parameters.Select(p => (p.Name, p.Value as string)));
    }

    [Fact]
    public void Catalog_reads_all_tab_partitions_and_the_interval_flag()
    {
        Assert.Equal("""
            SELECT p.partition_name,
                   p.partition_position,
                   p.high_value AS bound_text,
                   p.tablespace_name,
                   CASE WHEN p.compression = 'ENABLED' THEN p.compress_for ELSE 'NONE' END AS compression,
                   p.num_rows AS row_estimate,
                   CASE WHEN p.interval = 'YES' THEN 1 ELSE 0 END AS is_interval
            FROM all_tab_partitions p
            WHERE p.table_owner = :owner AND p.table_name = :table_name
            ORDER BY p.partition_position
            """, D.Partitions("CMR", "SALES_PART").Text);
        var info = D.TableInfo(null, "SALES_PART");
        Assert.Contains("LEFT JOIN all_part_tables pt", info.Text);
        Assert.Contains("CASE WHEN pt.interval IS NULL THEN 0 ELSE 1 END AS is_interval", info.Text);
        Assert.Contains("t.owner = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA'))", info.Text);
        Assert.Null(info.Parameters[0].Value);
        Assert.Null(D.Columns("CMR", "SALES_PART"));
    }

    [Fact]
    public void Bounds_come_from_high_value()
    {
        Assert.Equal(new(null, new DateTime(2023, 11, 1)),
            D.ParseBound("TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')"));
        Assert.Equal(new(null, null), D.ParseBound("MAXVALUE"));
        Assert.Null(D.ParseBound("100"));
    }

    [Fact]
    public void Control_tables_are_created_idempotently_with_the_spec_columns()
    {
        var ddl = D.CreateControlTables(null);
        Assert.Equal(4, ddl.Count);
        Assert.StartsWith("BEGIN\n  EXECUTE IMMEDIATE 'CREATE TABLE \"DWH_ILM_PARTITION_MERGES\" (", ddl[0].Text);
        Assert.Contains("CONSTRAINT chk_merge_status CHECK (merge_status IN (''SUCCESS'', ''FAILED'', ''SKIPPED'', ''IN_PROGRESS''))",
            ddl[0].Text);
        Assert.EndsWith("EXCEPTION WHEN OTHERS THEN\n  IF SQLCODE != -955 THEN RAISE; END IF;\nEND;", ddl[0].Text);
        foreach (var column in new[] { "merge_id", "merge_date", "table_owner", "table_name", "source_partition", "target_partition",
            "merge_status", "error_message", "duration_seconds", "rows_merged" })
            Assert.Contains(column, ddl[0].Text);
        Assert.Contains("search_condition_vc NOT LIKE '%IN_PROGRESS%'", ddl[1].Text);
        Assert.Contains("\"DWH_ILM_CONFIG\"", ddl[2].Text);
        Assert.Contains("\"DWH_ILM_EXECUTION_LOG\"", ddl[3].Text);
        Assert.Contains("CREATE TABLE \"OPS\".\"DWH_ILM_CONFIG\"", D.CreateControlTables("ops")[2].Text);
    }

    [Fact]
    public void Monitoring_sql_uses_case_not_filter()
    {
        var stats = D.MergeStatistics(null, "sales_part", 7);
        Assert.Equal(
            "SELECT COUNT(*) AS total_merges, SUM(CASE WHEN merge_status = 'SUCCESS' THEN 1 ELSE 0 END) AS succeeded, " +
            "SUM(CASE WHEN merge_status = 'FAILED' THEN 1 ELSE 0 END) AS failed, ROUND(AVG(CASE WHEN merge_status = 'SUCCESS' THEN " +
                "duration_seconds END), 3) AS avg_success_seconds, " +
            "ROUND(MAX(duration_seconds), 3) AS max_seconds FROM \"DWH_ILM_PARTITION_MERGES\" WHERE merge_status IN ('SUCCESS', " +
                "'FAILED') " +
            "AND merge_date > SYSTIMESTAMP - NUMTODSINTERVAL(:days, 'DAY') AND table_name = :table_name",
            stats.Text);
        Assert.DoesNotContain("FILTER", stats.Text);
        Assert.Equal([("days", (object?)7), ("table_name", "SALES_PART")], stats.Parameters.Select(p => (p.Name, p.Value)));
        Assert.EndsWith("ORDER BY merge_id DESC FETCH FIRST :max_rows ROWS ONLY", D.MergeHistory(null, null, null, 50).Text);
    }

    [Fact]
    public void Audit_and_config_values_are_bound_by_name()
    {
        var insert = D.InsertMergeAudit("CMR", new MergeAuditEntry("CMR", "SALES_PART", "P_2023_11", "P_2023", "IN_PROGRESS"));
        Assert.Equal(
            "INSERT INTO \"CMR\".\"DWH_ILM_PARTITION_MERGES\" (table_owner, table_name, source_partition, target_partition, " +
                "merge_status, error_message, duration_seconds, rows_merged) " +
            "VALUES (:table_owner, :table_name, :source_partition, :target_partition, :merge_status, :error_message, :duration_seconds, " +
                ":rows_merged)",
            insert.Text);
        Assert.Contains(insert.Parameters, p => p is { Name: "merge_status", Value: "IN_PROGRESS" });
        var seed = D.SeedConfig(null, "MAX_MERGES_PER_RUN", "50", "Maximum number of partition merges per ILM execution");
        Assert.StartsWith("MERGE INTO \"DWH_ILM_CONFIG\" c USING (SELECT :config_key AS config_key", seed.Text);
        Assert.Contains("WHEN NOT MATCHED THEN INSERT", seed.Text);
        Assert.DoesNotContain("WHEN MATCHED THEN UPDATE", seed.Text);
        Assert.Contains("WHEN MATCHED THEN UPDATE", D.SetConfig(null, "MAX_MERGES_PER_RUN", "10", null).Text);
    }
}

public sealed class OracleProviderTests
{
    [Fact]
    public void Registered_as_oracle_with_colon_markers_and_bare_bind_names()
    {
        var provider = ProviderRegistry.Get("oracle");
        Assert.IsType<OracleProvider>(provider);
        Assert.Equal(":last_key", provider.ParameterMarker("last_key"));
        Assert.Equal("last_key", provider.BindName("last_key"));
        Assert.Equal("\"SALES_PART\"", provider.Quote("sales_part"));
        Assert.Same(OracleIlmDialect.Instance, provider.Ilm);
    }

    [Fact]
    public void Missing_driver_says_how_to_get_it()
    {
        var e = Assert.Throws<PartitionOpsException>(() => OracleDriver.Load(null, "/opt/partitionops", () => []));
        Assert.Contains("Oracle.ManagedDataAccess.dll was not found", e.Message);
        Assert.Contains("/opt/partitionops/lib/Oracle.ManagedDataAccess.dll", e.Message);
        Assert.Contains("Oracle.ManagedDataAccess.Core", e.Message);
        Assert.Contains("PARTITIONOPS_ORACLE_DRIVER", e.Message);
    }

    [Fact]
    public void Explicit_driver_path_that_does_not_exist_is_named()
    {
        var e = Assert.Throws<PartitionOpsException>(() => OracleDriver.Load("/nowhere/odp.dll", "/opt/partitionops", () => []));
        Assert.Contains("/nowhere/odp.dll", e.Message);
        Assert.Contains("Oracle.ManagedDataAccess.Core", e.Message);
    }

    [Fact]
    public void Factory_comes_from_the_assembly_holding_OracleClientFactory()
    {
        var factory = OracleDriver.FromAssembly(typeof(Oracle.ManagedDataAccess.Client.OracleClientFactory).Assembly);
        Assert.Same(Oracle.ManagedDataAccess.Client.OracleClientFactory.Instance, factory);
        var e = Assert.Throws<PartitionOpsException>(() => OracleDriver.FromAssembly(typeof(object).Assembly));
        Assert.Contains("OracleClientFactory", e.Message);
    }

    [Fact]
    public void Commands_bind_by_name_and_fetch_long_columns_whole()
    {
        var command = new Oracle.ManagedDataAccess.Client.OracleCommand();
        OracleProvider.Instance.PrepareCommand(command);
        Assert.True(command.BindByName);
        Assert.Equal(-1, command.InitialLONGFetchSize);
    }

    [Theory]
    [InlineData(54, ErrorKind.LockTimeout)]
    [InlineData(30006, ErrorKind.LockTimeout)]
    [InlineData(60, ErrorKind.Deadlock)]
    [InlineData(14272, ErrorKind.Permanent)]
    [InlineData(14274, ErrorKind.Permanent)]
    [InlineData(14275, ErrorKind.Permanent)]
    [InlineData(14806, ErrorKind.Permanent)]
    [InlineData(3113, ErrorKind.Transient)]
    [InlineData(1013, ErrorKind.Canceled)]
    [InlineData(942, ErrorKind.Permanent)]
    [InlineData(20000, ErrorKind.Permanent)] // DBMS_LOCK not granted: retrying cannot cure it
    public void Classifies_ora_numbers(int number, ErrorKind expected)
    {
        var classifier = new OracleErrorClassifier();
        Assert.Equal(expected, classifier.Classify(new Oracle.ManagedDataAccess.Client.OracleException(number)));
        Assert.Equal(expected, classifier.Classify(
            new InvalidOperationException("wrapped", new Oracle.ManagedDataAccess.Client.OracleException(number))));
        Assert.Equal(expected.IsRetryable(), number is 54 or 30006 or 60 or 3113);
    }

    [Fact]
    public void Other_exceptions_are_permanent_and_cancellation_is_canceled()
    {
        var classifier = new OracleErrorClassifier();
        Assert.Equal(ErrorKind.Permanent, classifier.Classify(new InvalidOperationException()));
        Assert.Equal(ErrorKind.Canceled, classifier.Classify(new OperationCanceledException()));
    }
}
