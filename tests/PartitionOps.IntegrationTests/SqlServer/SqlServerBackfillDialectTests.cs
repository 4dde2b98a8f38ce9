using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using Param = PartitionOps.Engine.Providers.SqlParameter;
using static PartitionOps.IntegrationTests.SqlServer.SqlServerTestSchema;

namespace PartitionOps.IntegrationTests.SqlServer;

/// <summary>The SQL Server dialect's statements run against a real server (PARTITIONOPS_TEST_SQLSERVER).</summary>
public sealed class SqlServerBackfillDialectTests
{
    private static long Long(object? value) => Convert.ToInt64(value);

    [SqlServerFact]
    public async Task Control_tables_and_the_partition_column_are_created_idempotently()
    {
        await using var db = await CreateAsync();

        for (var i = 0; i < 2; i++)
            foreach (var statement in Dialect.CreateControlTables(db.ControlSchema))
                await db.ExecAsync(statement);
        Assert.Equal(1, await db.ScalarAsync<int>(Dialect.ControlTablesExist(db.ControlSchema)));

        await db.ExecAsync(Dialect.SetLockTimeout(TimeSpan.FromSeconds(5)));
        await db.ExecAsync(Dialect.AddPartitionColumn(db.Table));
        await db.ExecAsync(Dialect.AddPartitionColumn(db.Table));

        var columns = await db.RowsAsync(Dialect.ColumnsText(), new Param("schema", db.Schema), new Param("table", "Resource"));
        var partition = Assert.Single(columns, c => (string)c["column_name"]! == "PartitionId");
        Assert.Equal("smallint", partition["data_type"]);
        Assert.Equal(0, Convert.ToInt32(partition["is_nullable"]));
        Assert.Equal("2", partition["default_value"]);
        Assert.Equal(5, columns.Count);

        Assert.Equal(1, await db.ScalarAsync<int>(Dialect.SchemaExistsText(), new Param("schema", db.Schema)));
        var info = Assert.Single(await db.RowsAsync(Dialect.TableInfoText(), new Param("schema", db.Schema),
            new Param("table", "Resource")));
        Assert.Equal(0, Convert.ToInt32(info["is_partitioned"]));
        Assert.Empty(await db.RowsAsync(Dialect.TableInfoText(), new Param("schema", db.Schema), new Param("table", "NoSuchTable")));
        Assert.Empty(await db.RowsAsync(Dialect.PartitionsText(), new Param("schema", db.Schema), new Param("table", "Resource")));
    }

    [SqlServerFact]
    public async Task A_batch_walks_one_key_range_and_a_sweep_catches_rows_inserted_behind_it()
    {
        await using var db = await CreateAsync();
        foreach (var statement in Dialect.CreateControlTables(db.ControlSchema)) await db.ExecAsync(statement);
        await db.ExecAsync(Dialect.AddPartitionColumn(db.Table));

        var runId = await db.ScalarAsync<long>(Dialect.InsertRunText(db.ControlSchema),
            new Param("table_schema", db.Schema), new Param("table_name", "Resource"), new Param("column_name", "PartitionId"),
            new Param("direction", "backfill"), new Param("host", Environment.MachineName), new Param("options", "{}"));
        Assert.True(runId > 0);
        var latest = Assert.Single(await db.RowsAsync(Dialect.LatestRunText(db.ControlSchema),
            new Param("table_schema", db.Schema), new Param("table_name", "Resource"), new Param("column_name", "PartitionId")));
        Assert.Equal(runId, Long(latest["run_id"]));
        Assert.Equal("running", latest["status"]);

        var hwm = await db.ScalarAsync<long>(Dialect.HighWaterMarkText(db.Table), new Param("type_id", (int)ValueSet));
        Assert.Equal(110, hwm);
        for (var i = 0; i < 2; i++)
            await db.ExecAsync(Dialect.InsertCheckpointText(db.ControlSchema),
                new Param("run_id", runId), new Param("type_id", (int)ValueSet), new Param("type_name", "ValueSet"),
                new Param("target_value", 1), new Param("last_key", 0L), new Param("high_water_mark", hwm),
                    new Param("estimated_rows", null));

        Param[] BatchParams(long lastKey) =>
        [
            new("run_id", runId), new("type_id", (int)ValueSet), new("last_key", lastKey),
            new("high_water_mark", hwm), new("batch_size", 4), new("target_value", 1),
        ];
        var first = Assert.Single(await db.RowsAsync(Dialect.BatchText(db.Table), BatchParams(0)));
        Assert.Equal(104, Long(first["range_end"]));
        Assert.Equal(4, Convert.ToInt32(first["rows_scanned"]));
        Assert.Equal(4, Convert.ToInt32(first["rows_updated"]));

        long lastKey = 104, updated = 4;
        while (true)
        {
            var row = Assert.Single(await db.RowsAsync(Dialect.BatchText(db.Table), BatchParams(lastKey)));
            if (row["range_end"] is null)
            {
                Assert.Equal(0, Convert.ToInt32(row["rows_scanned"]));
                Assert.Equal(0, Convert.ToInt32(row["rows_updated"]));
                break;
            }
            lastKey = Long(row["range_end"]);
            updated += Convert.ToInt32(row["rows_updated"]);
        }
        Assert.Equal(110, lastKey);
        Assert.Equal(10, updated);

        var checkpoint = Assert.Single(await db.RowsAsync(Dialect.ReadCheckpointsText(db.ControlSchema), new Param("run_id", runId)));
        Assert.Equal(110, Long(checkpoint["last_key"]));
        Assert.Equal(10, Long(checkpoint["rows_scanned"]));
        Assert.Equal(10, Long(checkpoint["rows_updated"]));
        Assert.Equal(3, Long(checkpoint["batches"]));
        Assert.Equal("pending", checkpoint["status"]);

        // A row of the type inserted behind the walk keeps the default value until the sweep.
        await db.ExecAsync($"INSERT INTO [{db.Schema}].[Resource] ([ResourceTypeId], [ResourceSurrogateId], [ResourceId], [Version]) " +
            $"VALUES ({ValueSet}, 50, 'late', 1)");
        Param[] SweepParams() =>
        [
            new("run_id", runId), new("type_id", (int)ValueSet), new("upto_key", hwm),
            new("batch_size", 4), new("target_value", 1), new("source_value", 2),
        ];
        Assert.Equal(1, Convert.ToInt32(Assert.Single(await db.RowsAsync(Dialect.SweepText(db.Table), SweepParams()))["rows_updated"]));
        Assert.Equal(0, Convert.ToInt32(Assert.Single(await db.RowsAsync(Dialect.SweepText(db.Table), SweepParams()))["rows_updated"]));

        await db.ExecAsync(Dialect.UpdateCheckpointStatusText(db.ControlSchema),
            new Param("run_id", runId), new Param("type_id", (int)ValueSet), new Param("status", "done"),
            new Param("host", "test"), new Param("high_water_mark", hwm), new Param("last_error", null));
        await db.ExecAsync(Dialect.AddLockWaitsText(db.ControlSchema), new Param("run_id", runId), new Param("type_id", (int)ValueSet),
            new Param("lock_waits", 2L));
        checkpoint = Assert.Single(await db.RowsAsync(Dialect.ReadCheckpointsText(db.ControlSchema), new Param("run_id", runId)));
        Assert.Equal("done", checkpoint["status"]);
        Assert.Equal(11, Long(checkpoint["rows_updated"]));
        Assert.Equal(2, Long(checkpoint["lock_waits"]));
        Assert.NotNull(checkpoint["completed_at"]);
        Assert.NotNull(checkpoint["started_at"]);

        var counts = (await db.RowsAsync(Dialect.ExactCountsText(db.Table), new Param("system_value", 1), new Param("default_value", 2)))
            .ToDictionary(r => Convert.ToInt32(r["type_id"]));
        Assert.Equal(11, Long(counts[ValueSet]["total_rows"]));
        Assert.Equal(11, Long(counts[ValueSet]["system_rows"]));
        Assert.Equal(0, Long(counts[ValueSet]["default_rows"]));
        Assert.Equal(5, Long(counts[Patient]["default_rows"]));

        // SearchParameter is a system type that was not walked: its three rows are misplaced, nothing else.
        var misplaced = Assert.Single(await db.RowsAsync(Dialect.MisplacedText(db.Table, 2),
            new Param("system_value", 1), new Param("default_value", 2), new Param("sys_0", (int)ValueSet),
                new Param("sys_1", (int)SearchParameter)));
        Assert.Equal(SearchParameter, Convert.ToInt32(misplaced["type_id"]));
        Assert.Equal(3, Long(misplaced["misplaced_rows"]));

        await db.ExecAsync(Dialect.SetRunStatusText(db.ControlSchema), new Param("run_id", runId), new Param("status", "done"),
            new Param("ended", 1), new Param("host", "test"));
        latest = Assert.Single(await db.RowsAsync(Dialect.LatestRunText(db.ControlSchema),
            new Param("table_schema", db.Schema), new Param("table_name", "Resource"), new Param("column_name", "PartitionId")));
        Assert.Equal("done", latest["status"]);
        Assert.NotNull(latest["ended_at"]);
    }

    [SqlServerFact]
    public async Task The_stop_flag_is_upserted_and_read_back()
    {
        await using var db = await CreateAsync();
        foreach (var statement in Dialect.CreateControlTables(db.ControlSchema)) await db.ExecAsync(statement);
        Param[] Key() => [new("table_schema", db.Schema), new("table_name", "Resource"), new("column_name", "PartitionId")];

        Assert.Equal(0, await db.ScalarAsync<int>(Dialect.ReadStopFlagText(db.ControlSchema), Key()));
        await db.ExecAsync(Dialect.SetStopFlagText(db.ControlSchema), [.. Key(), new("stop_requested", 1), new("requested_by", "test")]);
        Assert.Equal(1, await db.ScalarAsync<int>(Dialect.ReadStopFlagText(db.ControlSchema), Key()));
        await db.ExecAsync(Dialect.SetStopFlagText(db.ControlSchema), [.. Key(), new("stop_requested", 0), new("requested_by", "test")]);
        Assert.Equal(0, await db.ScalarAsync<int>(Dialect.ReadStopFlagText(db.ControlSchema), Key()));
    }

    [SqlServerFact]
    public async Task The_application_lock_belongs_to_one_session_at_a_time_and_never_waits()
    {
        var resource = "partitionops.test." + Guid.NewGuid().ToString("N");
        await using var a = await OpenAsync();
        await using var b = await OpenAsync();
        var ct = CancellationToken.None;
        async Task<int> Acquire(System.Data.Common.DbConnection c) =>
            await c.ScalarAsync<int>(Provider, Dialect.TryAcquireAppLockText() with { Parameters = [new Param("resource", resource)] }, ct);
        Task Release(System.Data.Common.DbConnection c) =>
            c.ExecuteAsync(Provider, Dialect.ReleaseAppLockText() with { Parameters = [new Param("resource", resource)] }, ct);

        Assert.Equal(1, await Acquire(a));
        Assert.Equal(0, await Acquire(b));
        await Release(a);
        Assert.Equal(1, await Acquire(b));
        await Release(b);
        await Release(b); // not held any more: releasing again is harmless
    }

    [SqlServerFact]
    public async Task Catalog_and_throttle_probes_run_on_this_server()
    {
        await using var db = await CreateAsync();
        await db.ExecAsync($"UPDATE STATISTICS [{db.Schema}].[Resource] WITH FULLSCAN");

        var server = Assert.Single(await db.RowsAsync(Dialect.ServerInfo()));
        Assert.False(string.IsNullOrEmpty((string?)server["version"]));
        Assert.True(Convert.ToInt32(server["major_version"]) >= 12);
        Assert.Contains(Convert.ToInt32(server["supports_online_index"]), new[] { 0, 1 });

        var signals = (await db.RowsAsync(Dialect.ThrottleSignals())).ToDictionary(r => (string)r["signal"]!,
            r => Convert.ToDouble(r["value"]));
        Assert.Equal(["blocked_by_us", "log_used_percent", "replica_lag_seconds"], signals.Keys.Order());
        Assert.All(signals.Values, v => Assert.True(v >= 0));

        var permissions = (await db.RowsAsync(Dialect.PermissionsText(), new Param("schema", db.Schema), new Param("table", "Resource"),
                new Param("control_schema", db.ControlSchema)))
            .ToDictionary(r => (string)r["permission"]!, r => Convert.ToInt32(r["granted"]));
        Assert.Equal(["alter_table", "create_control_schema", "update_table"], permissions.Keys.Order());
        Assert.Equal(1, permissions["alter_table"]); // the test login created the table

        var types = await db.RowsAsync(Dialect.LookupTypes(db.Table));
        Assert.Equal(3, types.Count);
        Assert.Contains(types, t => Convert.ToInt32(t["type_id"]) == ValueSet && (string)t["name"]! == "ValueSet");

        var estimates = (await db.RowsAsync(Dialect.EstimatedRowsPerTypeText(db.Table),
                new Param("schema", db.Schema), new Param("table", "Resource"), new Param("type_column", "ResourceTypeId")))
            .ToDictionary(r => Convert.ToInt32(r["type_id"]), r => Long(r["estimated_rows"]));
        Assert.Equal(10, estimates[ValueSet]);
        Assert.Equal(5, estimates[Patient]);
    }

    [SqlServerFact]
    public async Task The_filtered_indexes_are_built_once_with_what_the_edition_supports()
    {
        await using var db = await CreateAsync();
        await db.ExecAsync(Dialect.AddPartitionColumn(db.Table));
        var server = Assert.Single(await db.RowsAsync(Dialect.ServerInfo()));
        var options = new IndexBuildOptions
        {
            Online = Convert.ToInt32(server["supports_online_index"]) == 1,
            Resumable = Convert.ToInt32(server["supports_resumable_index"]) == 1,
            MaxDop = 1,
            DataCompression = "NONE",
        };
        var profile = db.Table.Profile;
        FilteredIndex[] indexes =
        [
            new(profile.SystemIndexName, profile.IndexColumns, profile.SystemValue),
            new(profile.DefaultIndexName, profile.IndexColumns, profile.DefaultValue),
        ];
        Param[] Table() => [new("schema", db.Schema), new("table", "Resource")];

        async Task<List<IndexState>> States() => (await db.RowsAsync(Dialect.IndexesText(), Table()))
            .Select(r => new IndexState((string)r["object_schema"]!, (string)r["object_name"]!, (string)r["index_name"]!,
                Convert.ToInt32(r["is_valid"]) == 1, Convert.ToInt32(r["is_paused"]) == 1))
            .ToList();

        foreach (var index in indexes)
            foreach (var statement in Dialect.BuildFilteredIndex(db.Table, index, await States(), [], options))
                await db.ExecAsync(statement);

        var states = await States();
        foreach (var index in indexes)
        {
            Assert.Contains(states, s => s.IndexName == index.Name && s.IsValid && !s.IsPaused);
            Assert.Empty(Dialect.BuildFilteredIndex(db.Table, index, states, [], options));
        }

        // The unique filtered index holds only its partition's rows: a duplicate key across partitions is fine.
        await db.ExecAsync($"""
            INSERT INTO [{db.Schema}].[Resource] ([ResourceTypeId], [ResourceSurrogateId], [ResourceId], [Version], [PartitionId])
            VALUES ({Patient}, 1000, 'p1', 1, 1)
            """);
    }
}
