using System.Text.RegularExpressions;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Backfill.SqlServer;

/// <summary>What the SQL Server dialect decides, beyond the golden text: index states, options, quoting, parameters.</summary>
public sealed class SqlServerBackfillDialectTests
{
    private static readonly SqlServerBackfillDialect Dialect = new();
    private static readonly BackfillTable Fhir = new("dbo", BackfillProfile.Fhir, "partitionops");
    private static readonly FilteredIndex SystemIndex = new(BackfillProfile.Fhir.SystemIndexName, BackfillProfile.Fhir.IndexColumns, 1);

    private static IndexState State(bool valid, bool paused, string? name = null) =>
        new("dbo", "Resource", name ?? SystemIndex.Name, valid, paused);

    private static IReadOnlyList<SqlStatement> Build(IndexBuildOptions options, params IndexState[] existing) =>
        Dialect.BuildFilteredIndex(Fhir, SystemIndex, existing, [], options);

    [Fact]
    public void The_provider_exposes_the_dialect()
    {
        Assert.IsType<SqlServerBackfillDialect>(SqlServerProvider.Instance.Backfill);
    }

    [Fact]
    public void Batches_stay_below_the_lock_escalation_threshold_of_5000_locks()
    {
        Assert.Equal(4000, SqlServerBackfillDialect.LockEscalationSafeBatchSize);
        Assert.True(SqlServerBackfillDialect.LockEscalationSafeBatchSize < 5000);
    }

    [Fact]
    public void A_valid_index_needs_nothing()
    {
        Assert.Empty(Build(new IndexBuildOptions(), State(valid: true, paused: false)));
    }

    [Fact]
    public void Another_index_of_the_table_does_not_count_as_ours()
    {
        var statements = Build(new IndexBuildOptions(), State(valid: true, paused: false, name: "IX_Resource_Other"));
        Assert.StartsWith("CREATE UNIQUE NONCLUSTERED INDEX", Assert.Single(statements).Text);
    }

    [Fact]
    public void The_catalog_name_matches_case_insensitively_like_sql_server_names()
    {
        Assert.Empty(Build(new IndexBuildOptions(), State(valid: true, paused: false, name: SystemIndex.Name.ToUpperInvariant())));
    }

    [Fact]
    public void A_paused_resumable_build_is_resumed_not_created_again()
    {
        var statements = Build(new IndexBuildOptions { MaxDurationMinutes = 90, MaxDop = 2 }, State(valid: false, paused: true));
        Assert.Equal(
            "ALTER INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] RESUME WITH (MAXDOP = 2, " +
                "MAX_DURATION = 90 MINUTES)",
            Assert.Single(statements).Text);
    }

    [Fact]
    public void A_disabled_index_is_dropped_and_built_again()
    {
        var statements = Build(new IndexBuildOptions(), State(valid: false, paused: false));
        Assert.Equal(2, statements.Count);
        Assert.Equal("DROP INDEX IF EXISTS [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource]",
            statements[0].Text);
        Assert.StartsWith("CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version]",
            statements[1].Text);
    }

    [Fact]
    public void Offline_builds_have_no_resumable_options_because_resumable_requires_online()
    {
        var text = Assert.Single(Build(new IndexBuildOptions { Online = false, AllowOffline = true })).Text;
        Assert.Equal(
            "CREATE UNIQUE NONCLUSTERED INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] " +
            "([ResourceTypeId], [ResourceId], [Version]) WHERE [PartitionId] = 1 WITH (ONLINE = OFF, MAXDOP = 4, DATA_COMPRESSION = PAGE)",
            text);
        Assert.DoesNotContain("RESUMABLE", text);
        Assert.DoesNotContain("MAX_DURATION", text);
    }

    [Fact]
    public void Online_but_not_resumable_builds_drop_resumable_and_max_duration()
    {
        var text = Assert.Single(Build(new IndexBuildOptions { Resumable = false })).Text;
        Assert.EndsWith("WITH (ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = PAGE)", text);
    }

    [Fact]
    public void The_filter_value_is_an_integer_literal_because_filtered_indexes_take_no_parameters()
    {
        var text = Assert.Single(Dialect.BuildFilteredIndex(Fhir, SystemIndex with { FilterValue = -3 }, [], [],
            new IndexBuildOptions())).Text;
        Assert.Contains("WHERE [PartitionId] = -3 WITH", text);
        Assert.DoesNotContain("@", text);
    }

    [Theory]
    [InlineData("none", "NONE")]
    [InlineData("Row", "ROW")]
    [InlineData(" page ", "PAGE")]
    public void Compression_is_accepted_in_any_case(string given, string expected)
    {
        var text = Assert.Single(Build(new IndexBuildOptions { DataCompression = given })).Text;
        Assert.EndsWith($"DATA_COMPRESSION = {expected})", text);
    }

    [Theory]
    [InlineData("COLUMNSTORE")]
    [InlineData("LZ4")]
    [InlineData("PAGE; DROP TABLE x")]
    [InlineData("")]
    public void Bad_compression_is_invalid_input_naming_the_value(string compression)
    {
        var e = Assert.Throws<InvalidRequestException>(() => Build(new IndexBuildOptions { DataCompression = compression }));
        Assert.Equal(compression, e.Value);
        Assert.Contains($"'{compression}'", e.Message);
        Assert.Contains("NONE, ROW, PAGE", e.Message);
    }

    [Fact]
    public void Bad_compression_is_refused_even_when_the_index_is_already_valid()
    {
        Assert.Throws<InvalidRequestException>(() => Build(new IndexBuildOptions { DataCompression = "ZSTD" },
            State(valid: true, paused: false)));
    }

    [Fact]
    public void Negative_maxdop_and_non_positive_max_duration_are_invalid_input()
    {
        Assert.Throws<InvalidRequestException>(() => Build(new IndexBuildOptions { MaxDop = -1 }));
        Assert.Throws<InvalidRequestException>(() => Build(new IndexBuildOptions { MaxDurationMinutes = 0 }));
    }

    [Fact]
    public void SQL_Server_has_no_per_partition_index_builds()
    {
        var partitions = new[] { new TablePartition("dbo", "Resource_p1") };
        var statements = Dialect.BuildFilteredIndex(Fhir, SystemIndex, [], partitions, new IndexBuildOptions());
        Assert.DoesNotContain("Resource_p1", Assert.Single(statements).Text);
    }

    [Fact]
    public void Names_with_a_closing_bracket_are_quoted_by_doubling_it()
    {
        var profile = BackfillProfile.Fhir with { Table = "Res]ource", PartitionColumn = "Part]Id", KeyColumn = "Key]",
            TypeColumn = "Type]" };
        var table = new BackfillTable("we]ird", profile, "po]x");

        Assert.Equal("SELECT CAST(MAX([Key]]]) AS bigint) FROM [we]]ird].[Res]]ource] WHERE [Type]]] = @type_id",
            Dialect.HighWaterMarkText(table).Text);
        var batch = Dialect.BatchText(table).Text;
        Assert.Contains("UPDATE [we]]ird].[Res]]ource]", batch);
        Assert.Contains("SET [Part]]Id] = @target_value", batch);
        Assert.Contains("UPDATE [po]]x].[backfill_checkpoint]", batch);
        Assert.Contains("CREATE UNIQUE NONCLUSTERED INDEX [I]]x] ON [we]]ird].[Res]]ource]",
            Assert.Single(Dialect.BuildFilteredIndex(table, new FilteredIndex("I]x", ["Type]"], 1), [], [], new IndexBuildOptions())).Text);
    }

    [Fact]
    public void Names_inside_string_literals_have_quotes_doubled_as_well()
    {
        var statement = Assert.Single(Dialect.CreateControlTables("po'x]"));
        Assert.Contains("IF SCHEMA_ID(N'po''x]') IS NULL EXEC(N'CREATE SCHEMA [po''x]]]');", statement.Text);
        Assert.Contains("IF OBJECT_ID(N'[po''x]]].[schema_version]', N'U') IS NULL\n", statement.Text.Replace("\r\n", "\n"));
        // The lock name is a parameter, never spliced into the text.
        Assert.Equal("partitionops.control.po'x]", statement.Parameters.Single(p => p.Name == "resource").Value);

        var table = new BackfillTable("d'bo", BackfillProfile.Fhir with { Table = "Re'source" }, "partitionops");
        Assert.StartsWith("IF COL_LENGTH(N'[d''bo].[Re''source]', N'PartitionId') IS NULL", Dialect.AddPartitionColumn(table).Text);
    }

    [Fact]
    public void The_partition_column_type_and_default_come_from_the_profile()
    {
        var profile = BackfillProfile.Fhir with { PartitionColumnType = "INTEGER", DefaultValue = 7, SystemValue = 3 };
        var text = Dialect.AddPartitionColumn(new BackfillTable("dbo", profile, "partitionops")).Text;
        Assert.EndsWith("ADD [PartitionId] int NOT NULL CONSTRAINT [DF_Resource_PartitionId] DEFAULT 7", text);
        Assert.DoesNotContain("WITH CHECK", text);
    }

    [Fact]
    public void A_default_constraint_name_longer_than_128_characters_is_cut()
    {
        var profile = BackfillProfile.Fhir with { Table = new string('T', 100), PartitionColumn = new string('P', 100) };
        var text = Dialect.AddPartitionColumn(new BackfillTable("dbo", profile, "partitionops")).Text;
        var name = Regex.Match(text, @"CONSTRAINT \[([^\]]+)\]").Groups[1].Value;
        Assert.Equal(128, name.Length);
        Assert.StartsWith("DF_TTT", name);
    }

    [Theory]
    [InlineData(5000, "SET LOCK_TIMEOUT 5000")]
    [InlineData(0, "SET LOCK_TIMEOUT 0")]
    [InlineData(1.2, "SET LOCK_TIMEOUT 2")]
    public void Lock_timeout_is_in_milliseconds(double ms, string expected)
    {
        Assert.Equal(expected, Dialect.SetLockTimeout(TimeSpan.FromMilliseconds(ms)).Text);
    }

    [Fact]
    public void An_infinite_lock_timeout_waits_forever()
    {
        Assert.Equal("SET LOCK_TIMEOUT -1", Dialect.SetLockTimeout(Timeout.InfiniteTimeSpan).Text);
    }

    [Fact]
    public void Misplaced_lists_one_parameter_per_system_type_in_both_predicates()
    {
        var text = Dialect.MisplacedText(Fhir, 3).Text;
        Assert.Equal(2, Regex.Matches(text, Regex.Escape("IN (@sys_0, @sys_1, @sys_2)")).Count);
        Assert.DoesNotContain("@sys_3", text);
        Assert.Equal(
            ["default_value", "sys_0", "sys_1", "sys_2", "system_value"],
            Parameters(text));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dialect.MisplacedText(Fhir, 0));
    }

    [Fact]
    public void Partitions_is_an_empty_result_with_the_documented_columns()
    {
        var text = Dialect.PartitionsText().Text;
        Assert.Contains("AS partition_schema", text);
        Assert.Contains("AS partition_name", text);
        foreach (var column in new[] { "parent_schema", "parent_name", "is_leaf", "level" }) Assert.Contains("AS " + column, text);
        Assert.Contains("WHERE 1 = 0", text);
    }

    /// <summary>@names a statement reads, minus its own DECLAREd variables, system procedure argument names and @@functions.</summary>
    private static string[] Parameters(string text)
    {
        // The variables a DECLARE names (each one first in its comma-separated part), not those its initialisers read.
        var declared = Regex.Matches(text, @"DECLARE\s+([^;]+);")
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, @"(?:^|,)\s*@(\w+)").Select(v => v.Groups[1].Value));
        var procArguments = new[] { "Resource", "LockMode", "LockOwner", "LockTimeout", "v" };
        return Regex.Matches(text, @"(?<![@\w])@(\w+)").Select(m => m.Groups[1].Value)
            .Except(declared).Except(procArguments).Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    public static TheoryData<string, string[]> Contracts() => new()
    {
        { nameof(IBackfillDialect.CreateControlTables), ["resource"] },
        { nameof(IBackfillDialect.InsertRun), ["direction", "column_name", "host", "options", "table_name", "table_schema"] },
        { nameof(IBackfillDialect.LatestRun), ["column_name", "table_name", "table_schema"] },
        { nameof(IBackfillDialect.SetRunStatus), ["ended", "host", "run_id", "status"] },
        { nameof(IBackfillDialect.InsertCheckpoint),
            ["estimated_rows", "high_water_mark", "last_key", "run_id", "target_value", "type_id", "type_name"] },
        { nameof(IBackfillDialect.ReadCheckpoints), ["run_id"] },
        { nameof(IBackfillDialect.UpdateCheckpointStatus), ["high_water_mark", "host", "last_error", "run_id", "status", "type_id"] },
        { nameof(IBackfillDialect.AddLockWaits), ["lock_waits", "run_id", "type_id"] },
        { nameof(IBackfillDialect.SetStopFlag), ["column_name", "requested_by", "stop_requested", "table_name", "table_schema"] },
        { nameof(IBackfillDialect.ReadStopFlag), ["column_name", "table_name", "table_schema"] },
        { nameof(IBackfillDialect.TryAcquireAppLock), ["resource"] },
        { nameof(IBackfillDialect.ReleaseAppLock), ["resource"] },
        { nameof(IBackfillDialect.ServerInfo), [] },
        { nameof(IBackfillDialect.SchemaExists), ["schema"] },
        { nameof(IBackfillDialect.TableInfo), ["schema", "table"] },
        { nameof(IBackfillDialect.Columns), ["schema", "table"] },
        { nameof(IBackfillDialect.Partitions), [] },
        { nameof(IBackfillDialect.Indexes), ["schema", "table"] },
        { nameof(IBackfillDialect.LookupTypes), [] },
        { nameof(IBackfillDialect.EstimatedRowsPerType), ["schema", "table", "type_column"] },
        { nameof(IBackfillDialect.Permissions), ["control_schema", "schema", "table"] },
        { nameof(IBackfillDialect.ThrottleSignals), [] },
        { nameof(IBackfillDialect.HighWaterMark), ["type_id"] },
        { nameof(IBackfillDialect.Batch), ["batch_size", "high_water_mark", "last_key", "run_id", "target_value", "type_id"] },
        { nameof(IBackfillDialect.Sweep), ["batch_size", "run_id", "source_value", "target_value", "type_id", "upto_key"] },
        { nameof(IBackfillDialect.ExactCounts), ["default_value", "system_value"] },
        { nameof(IBackfillDialect.MisplacedSinceRun), ["default_value", "run_id", "sys_0", "sys_1", "sys_2", "system_value"] },
    };

    private static SqlStatement Statement(string method) => method switch
    {
        nameof(IBackfillDialect.CreateControlTables) => Dialect.CreateControlTables("partitionops").Single(),
        nameof(IBackfillDialect.InsertRun) => Dialect.InsertRunText("partitionops"),
        nameof(IBackfillDialect.LatestRun) => Dialect.LatestRunText("partitionops"),
        nameof(IBackfillDialect.SetRunStatus) => Dialect.SetRunStatusText("partitionops"),
        nameof(IBackfillDialect.InsertCheckpoint) => Dialect.InsertCheckpointText("partitionops"),
        nameof(IBackfillDialect.ReadCheckpoints) => Dialect.ReadCheckpointsText("partitionops"),
        nameof(IBackfillDialect.UpdateCheckpointStatus) => Dialect.UpdateCheckpointStatusText("partitionops"),
        nameof(IBackfillDialect.AddLockWaits) => Dialect.AddLockWaitsText("partitionops"),
        nameof(IBackfillDialect.SetStopFlag) => Dialect.SetStopFlagText("partitionops"),
        nameof(IBackfillDialect.ReadStopFlag) => Dialect.ReadStopFlagText("partitionops"),
        nameof(IBackfillDialect.TryAcquireAppLock) => Dialect.TryAcquireAppLockText(),
        nameof(IBackfillDialect.ReleaseAppLock) => Dialect.ReleaseAppLockText(),
        nameof(IBackfillDialect.ServerInfo) => Dialect.ServerInfo(),
        nameof(IBackfillDialect.SchemaExists) => Dialect.SchemaExistsText(),
        nameof(IBackfillDialect.TableInfo) => Dialect.TableInfoText(),
        nameof(IBackfillDialect.Columns) => Dialect.ColumnsText(),
        nameof(IBackfillDialect.Partitions) => Dialect.PartitionsText(),
        nameof(IBackfillDialect.Indexes) => Dialect.IndexesText(),
        nameof(IBackfillDialect.LookupTypes) => Dialect.LookupTypes(Fhir),
        nameof(IBackfillDialect.EstimatedRowsPerType) => Dialect.EstimatedRowsPerTypeText(Fhir),
        nameof(IBackfillDialect.Permissions) => Dialect.PermissionsText(),
        nameof(IBackfillDialect.ThrottleSignals) => Dialect.ThrottleSignals(),
        nameof(IBackfillDialect.HighWaterMark) => Dialect.HighWaterMarkText(Fhir),
        nameof(IBackfillDialect.Batch) => Dialect.BatchText(Fhir),
        nameof(IBackfillDialect.Sweep) => Dialect.SweepText(Fhir),
        nameof(IBackfillDialect.ExactCounts) => Dialect.ExactCountsText(Fhir),
        nameof(IBackfillDialect.MisplacedSinceRun) => Dialect.MisplacedSinceRunText(Fhir, 3),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Every_statement_reads_exactly_the_parameters_its_contract_names(string method, string[] expected)
    {
        Assert.Equal(expected.Order(StringComparer.Ordinal), Parameters(Statement(method).Text));
    }

    [Theory]
    [InlineData(nameof(IBackfillDialect.Batch), "range_end", "rows_scanned", "rows_updated")]
    [InlineData(nameof(IBackfillDialect.Sweep), "rows_updated")]
    [InlineData(nameof(IBackfillDialect.ServerInfo), "version", "major_version", "edition", "supports_online_index",
        "supports_resumable_index", "metadata_only_add_column")]
    [InlineData(nameof(IBackfillDialect.Columns), "column_name", "data_type", "is_nullable", "default_value")]
    [InlineData(nameof(IBackfillDialect.Indexes), "object_schema", "object_name", "index_name", "is_valid", "is_paused")]
    [InlineData(nameof(IBackfillDialect.EstimatedRowsPerType), "type_id", "estimated_rows")]
    [InlineData(nameof(IBackfillDialect.ThrottleSignals), "signal", "value")]
    [InlineData(nameof(IBackfillDialect.Permissions), "permission", "granted")]
    [InlineData(nameof(IBackfillDialect.ExactCounts), "type_id", "total_rows", "system_rows", "default_rows")]
    [InlineData(nameof(IBackfillDialect.LookupTypes), "type_id", "name")]
    [InlineData(nameof(IBackfillDialect.TableInfo), "is_partitioned")]
    public void Result_columns_carry_the_documented_names(string method, params string[] columns)
    {
        var text = Statement(method).Text;
        foreach (var column in columns) Assert.Contains($"AS {column}", text);
    }

    [Fact]
    public void The_throttle_signals_are_the_three_the_engine_reads()
    {
        var text = Dialect.ThrottleSignals().Text;
        Assert.Contains("N'log_used_percent' AS signal", text);
        Assert.Contains("SELECT N'replica_lag_seconds',", text);
        Assert.Contains("SELECT N'blocked_by_us',", text);
        Assert.Contains("LIKE N'partitionops%'", text);
    }

    [Fact]
    public void Permissions_include_the_three_the_engine_checks()
    {
        var text = Dialect.PermissionsText().Text;
        Assert.Contains("N'alter_table' AS permission", text);
        Assert.Contains("SELECT N'update_table',", text);
        Assert.Contains("SELECT N'create_control_schema',", text);
        Assert.Contains("AS needs", text);
    }

    [Fact]
    public void A_control_schema_that_exists_needs_no_create_schema_permission()
    {
        var text = Dialect.PermissionsText().Text.Replace("\r\n", "\n");
        var control = text[text.IndexOf("SELECT N'create_control_schema',", StringComparison.Ordinal)..];
        // Schema missing (state 0): CREATE SCHEMA and CREATE TABLE. Schema there (1): CREATE TABLE + ALTER on it,
        // and the data rights for tables the schema's owner will own. Tables there (2): the data rights only.
        var missing = control[control.IndexOf("WHEN 0 THEN", StringComparison.Ordinal)..
                              control.IndexOf("WHEN 1 THEN", StringComparison.Ordinal)];
        var exists = control[control.IndexOf("WHEN 1 THEN", StringComparison.Ordinal)..
                             control.IndexOf("ELSE @data", StringComparison.Ordinal)];
        Assert.Contains("N'CREATE SCHEMA'", missing);
        Assert.Contains("N'CREATE TABLE'", missing);
        Assert.DoesNotContain("CREATE SCHEMA", exists);
        Assert.Contains("HAS_PERMS_BY_NAME(DB_NAME(), N'DATABASE', N'CREATE TABLE') = 1", exists);
        Assert.Contains("HAS_PERMS_BY_NAME(@control, N'SCHEMA', N'ALTER') = 1", exists);
        Assert.Contains("DECLARE @state int = CASE WHEN SCHEMA_ID(@control_schema) IS NULL THEN 0", text);
        // The schema is a parameter, quoted by QUOTENAME for HAS_PERMS_BY_NAME's one-part name.
        Assert.Contains("DECLARE @control nvarchar(300) = QUOTENAME(@control_schema);", text);
    }

    [Fact]
    public void The_batch_walks_keys_instead_of_rescanning_by_partition_value()
    {
        var text = Dialect.BatchText(Fhir).Text;
        Assert.StartsWith("SET XACT_ABORT ON;", text);
        Assert.Contains("SELECT TOP (@batch_size) [ResourceSurrogateId] AS k", text);
        Assert.Contains("[ResourceSurrogateId] > @last_key AND [ResourceSurrogateId] <= @range_end", text);
        Assert.DoesNotContain("UPDATE TOP", text);
        Assert.True(text.IndexOf("BEGIN TRANSACTION", StringComparison.Ordinal)
                    < text.IndexOf("UPDATE [dbo].[Resource]", StringComparison.Ordinal));
        Assert.True(text.IndexOf("UPDATE [partitionops].[backfill_checkpoint]", StringComparison.Ordinal)
                    < text.IndexOf("COMMIT TRANSACTION", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sweep_recompiles_so_the_filtered_index_can_serve_the_parameterised_value()
    {
        var text = Dialect.SweepText(Fhir).Text;
        Assert.Contains("[PartitionId] = @source_value\nOPTION (RECOMPILE);", text.Replace("\r\n", "\n"));
    }
}
