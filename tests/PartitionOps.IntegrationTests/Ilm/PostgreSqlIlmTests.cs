using Xunit.Abstractions;
using Npgsql;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>The spec's test cases against a real PostgreSQL with real tablespaces.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private readonly IlmService _ilm = new();

    private Task<IlmRunResult> RunAsync(IlmTestDatabase db, string asOf, IlmConfigOverrides? overrides = null) =>
        _ilm.RunAsync(new IlmRunRequest(db.Target, "sales")
        {
            Policy = db.Policy,
            AsOf = DateOnly.Parse(asOf),
            Overrides = overrides ?? new IlmConfigOverrides(),
        });

    [Fact]
    public async Task Test1_basic_merge_extends_the_yearly_partition_by_one_month()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await db.AddMonthAsync(2023, 12, db.Hot);
        await db.AnalyzeAsync();
        var total = await db.TotalRowsAsync();

        var result = await RunAsync(db, "2025-12-01");

        var outcome = Assert.Single(result.Outcomes);
        Assert.Equal(IlmStatus.Success, outcome.Status);
        Assert.Equal(outcome.RowsBefore, outcome.RowsAfter);
        // November's N rows merged into p_2023's M rows: the run reports N merged (as the audit row does), not N + M.
        var november = IlmTestDatabase.DaysRows("2023-11-01", "2023-12-01");
        var yearly = IlmTestDatabase.DaysRows("2023-01-01", "2023-11-01");
        Assert.Equal((november, november, november + yearly), (result.RowsMerged, outcome.RowsMerged, outcome.RowsAfter));
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2023", "p_2023_12"], parts.Keys.Order());
        Assert.Equal("FOR VALUES FROM ('2023-01-01') TO ('2023-12-01')", parts["p_2023"].Bound);
        Assert.Equal(db.Warm, parts["p_2023"].Tablespace);
        Assert.Equal(total, await db.TotalRowsAsync());
        var audit = Assert.Single(await db.AuditAsync());
        Assert.Equal(
            ("p_2023_11", "p_2023", "SUCCESS", (long?)IlmTestDatabase.DaysRows("2023-11-01", "2023-12-01")),
            (audit.Source, audit.Target, audit.Status, audit.Rows));
        // The temporary CHECK constraint is gone and the index is attached again.
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_constraint WHERE conname = 'partitionops_ilm_bound'"));
        Assert.Equal(2L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.sales_sale_date'::regclass"));

        // Rerun: nothing left to do, nothing changes.
        var again = await RunAsync(db, "2025-12-01");
        Assert.Empty(again.Outcomes);
        Assert.False((await _ilm.PlanAsync(new IlmPlanRequest
        {
            Target = db.Target, Table = "sales", Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1),
        })).Plan.HasWork);
        Assert.Single(await db.AuditAsync());
        Assert.Equal(total, await db.TotalRowsAsync());
    }

    [Fact]
    public async Task Test2_complete_year_of_months_becomes_one_yearly_partition_in_one_operation()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2022", "2022-01-01", "2023-01-01", db.Warm);
        for (var m = 1; m <= 12; m++) await db.AddMonthAsync(2023, m, db.Hot);
        var total = await db.TotalRowsAsync();

        var result = await RunAsync(db, "2026-01-01");

        var outcome = Assert.Single(result.Outcomes);
        Assert.Equal(IlmStatus.Success, outcome.Status);
        var merge = Assert.IsType<MergeAction>(outcome.Action);
        Assert.Equal("p_2023", merge.TargetName);
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2022", "p_2023"], parts.Keys.Order());
        Assert.Equal("FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')", parts["p_2023"].Bound);
        Assert.Equal(db.Warm, parts["p_2023"].Tablespace);
        Assert.Equal(total, await db.TotalRowsAsync());
        var audit = await db.AuditAsync();
        Assert.Equal(12, audit.Count);
        Assert.All(audit, a => Assert.Equal(("p_2023", "SUCCESS"), (a.Target, a.Status)));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-01-01", "2024-01-01"), audit.Sum(a => a.Rows));
        Assert.Empty((await RunAsync(db, "2026-01-01")).Outcomes);
    }

    [Fact]
    public async Task Test3_non_adjacent_month_is_moved_but_not_merged()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-07-01", db.Warm);
        await db.AddMonthAsync(2024, 1, db.Hot);
        await db.AnalyzeAsync();
        var total = await db.TotalRowsAsync();

        var result = await RunAsync(db, "2026-02-01");

        var outcome = Assert.Single(result.Outcomes);
        Assert.IsType<MoveAction>(outcome.Action);
        Assert.Equal(IlmStatus.Success, outcome.Status);
        // The move reports the partition's rows as the catalog estimates them (exact here: ANALYZE read every row).
        Assert.Equal(IlmTestDatabase.DaysRows("2024-01-01", "2024-02-01"), outcome.RowsMovedEstimate);
        Assert.Null(outcome.RowsMerged);
        Assert.Equal(0, result.RowsMerged);
        Assert.Contains(result.Plan.Plan.Actions, a => a is SkipAction { PartitionName: "p_2024_01" });
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2023", "p_2024_01"], parts.Keys.Order());
        Assert.Equal(db.Warm, parts["p_2024_01"].Tablespace);
        Assert.Empty(await db.AuditAsync());
        Assert.Equal(1L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM partitionops.dwh_ilm_execution_log WHERE action = 'MOVE' AND status = 'SUCCESS'"));
        Assert.Equal(total, await db.TotalRowsAsync());
    }

    /// <summary>Holds ACCESS SHARE on p_2023 while <paramref name="run"/> runs, so a merge into it times out.</summary>
    private static async Task<T> WhileYearlyIsLockedAsync<T>(IlmTestDatabase db, Func<Task<T>> run)
    {
        await using var other = new NpgsqlConnection(db.ConnectionString);
        await other.OpenAsync();
        await using var tx = await other.BeginTransactionAsync();
        await using (var lockCommand = new NpgsqlCommand("LOCK TABLE public.p_2023 IN ACCESS SHARE MODE", other, tx))
            await lockCommand.ExecuteNonQueryAsync();
        var result = await run();
        await tx.RollbackAsync();
        return result;
    }

    [Fact]
    public async Task Test4_merge_blocked_by_a_lock_fails_cleanly_still_moves_the_month_to_its_tier_and_succeeds_on_the_next_run()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", db.Warm);
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var total = await db.TotalRowsAsync();
        var before = await db.PartitionsAsync();

        var blocked = await WhileYearlyIsLockedAsync(
            db, () => RunAsync(db, "2025-12-01", new IlmConfigOverrides { LockTimeoutSeconds = 1 }));

        // The due HOT month had no move of its own (the merge places it): when the merge fails it is moved on its own,
        // as the spec's recovery section says ("remains unmerged but moved to correct tier").
        Assert.Equal(
            [
                (IlmActionKind.Move, "p_2019", IlmStatus.Success),
                (IlmActionKind.Merge, "p_2023", IlmStatus.Failed),
                (IlmActionKind.Move, "p_2023_11", IlmStatus.Success),
            ],
            blocked.Outcomes.Select(o => (o.Action.Kind, o.Action.Partition, o.Status)));
        Assert.Equal(ErrorKind.LockTimeout, blocked.Outcomes[1].ErrorKind);
        var fallback = Assert.IsType<MoveAction>(blocked.Outcomes[2].Action);
        Assert.Equal(("p_2023", db.Hot, db.Warm), (fallback.AfterFailedMergeInto, fallback.FromTablespace, fallback.ToTablespace));
        Assert.Equal((1, 2), (blocked.Failed, blocked.Succeeded));
        var failed = Assert.Single(await db.AuditAsync());
        Assert.Equal(("p_2023_11", "FAILED"), (failed.Source, failed.Status));
        Assert.StartsWith("LockTimeout", failed.Error);
        Assert.Equal(2L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM partitionops.dwh_ilm_execution_log WHERE action = 'MOVE' AND status = 'SUCCESS'"));
        Assert.Equal(1L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM partitionops.dwh_ilm_execution_log WHERE partition_name = 'p_2023_11' AND action = 'MOVE' " +
            $"AND source_tablespace = '{db.Hot}' AND target_tablespace = '{db.Warm}'"));
        var afterFailure = await db.PartitionsAsync();
        Assert.Equal(db.Cold, afterFailure["p_2019"].Tablespace);
        Assert.Equal(before["p_2023"], afterFailure["p_2023"]);
        Assert.Equal((before["p_2023_11"].Bound, db.Warm), afterFailure["p_2023_11"]);
        Assert.Equal(total, await db.TotalRowsAsync());

        // MERGE_RETRY_FAILED = Y (the default): the next run retries the merge, with nothing left to move, and succeeds.
        var plan = await _ilm.PlanAsync(
            new IlmPlanRequest { Target = db.Target, Table = "sales", Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1) });
        Assert.Empty(Assert.IsType<MergeAction>(Assert.Single(plan.Steps).Action).MovesIfFailed);
        var retried = await RunAsync(db, "2025-12-01");
        var outcome = Assert.Single(retried.Outcomes);
        Assert.Equal((IlmActionKind.Merge, IlmStatus.Success), (outcome.Action.Kind, outcome.Status));
        Assert.Equal(["FAILED", "SUCCESS"], (await db.AuditAsync()).Select(a => a.Status));
        Assert.Equal(total, await db.TotalRowsAsync());
        Assert.Equal(("FOR VALUES FROM ('2023-01-01') TO ('2023-12-01')", db.Warm), (await db.PartitionsAsync())["p_2023"]);
    }

    [Fact]
    public async Task A_dry_run_explains_the_move_after_a_failed_merge_without_running_anything()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var before = await db.PartitionsAsync();

        var dry = await _ilm.RunAsync(new IlmRunRequest(db.Target, "sales")
        {
            Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1), DryRun = true,
        });

        var step = Assert.Single(dry.Plan.Steps);
        Assert.EndsWith($"; if the merge fails, p_2023_11 is moved to {db.Warm} on its own", step.Describe());
        Assert.Equal(IlmStatus.Planned, Assert.Single(dry.Outcomes).Status);
        Assert.Equal(before, await db.PartitionsAsync());
    }

    [Fact]
    public async Task A_run_out_of_time_after_a_failed_merge_leaves_the_move_to_the_next_run()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var clock = new SteppedTime();
        var ilm = new IlmService(clock);
        // The clock jumps past --max-duration as soon as the merge has ended.
        var progress = new SynchronousProgress<IlmProgress>(p =>
        {
            if (p.Outcome?.Action is MergeAction) clock.Advance(TimeSpan.FromHours(2));
        });

        var result = await WhileYearlyIsLockedAsync(db, () => ilm.RunAsync(new IlmRunRequest(db.Target, "sales")
        {
            Policy = db.Policy,
            AsOf = new DateOnly(2025, 12, 1),
            MaxDuration = TimeSpan.FromHours(1),
            Overrides = new IlmConfigOverrides { LockTimeoutSeconds = 1 },
        }, progress));

        Assert.Equal((IlmActionKind.Merge, IlmStatus.Failed), (Assert.Single(result.Outcomes).Action.Kind, result.Outcomes[0].Status));
        Assert.Equal(db.Hot, (await db.PartitionsAsync())["p_2023_11"].Tablespace);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.dwh_ilm_execution_log"));
    }

    private sealed class SteppedTime : TimeProvider
    {
        private long _ticks = 1;
        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
        public override long GetTimestamp() => Interlocked.Read(ref _ticks);
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Fact]
    public async Task Failed_merges_are_not_retried_when_merge_retry_failed_is_n()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Warm);
        await using (var other = new NpgsqlConnection(db.ConnectionString))
        {
            await other.OpenAsync();
            await using var tx = await other.BeginTransactionAsync();
            await using (var lockCommand = new NpgsqlCommand("LOCK TABLE public.p_2023 IN ACCESS SHARE MODE", other, tx))
                await lockCommand.ExecuteNonQueryAsync();
            var blocked = await RunAsync(db, "2025-12-01", new IlmConfigOverrides { LockTimeoutSeconds = 1 });
            Assert.Equal(IlmStatus.Failed, Assert.Single(blocked.Outcomes).Status);
        }
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "MERGE_RETRY_FAILED", "N"));

        var result = await RunAsync(db, "2025-12-01");
        Assert.Empty(result.Outcomes);
        Assert.Equal(["FAILED", "SKIPPED"], (await db.AuditAsync()).Select(a => a.Status));
        // A SKIPPED row is not an attempt: the month stays held back run after run.
        Assert.Empty((await RunAsync(db, "2025-12-01")).Outcomes);
        Assert.Equal(["FAILED", "SKIPPED", "SKIPPED"], (await db.AuditAsync()).Select(a => a.Status));
        Assert.True((await db.PartitionsAsync()).ContainsKey("p_2023_11"));
    }

    [Fact]
    public async Task Test5_five_due_months_merge_in_one_operation_with_five_audit_rows()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-08-01", db.Warm);
        for (var m = 8; m <= 12; m++) await db.AddMonthAsync(2023, m, db.Hot);
        var total = await db.TotalRowsAsync();

        var result = await RunAsync(db, "2026-01-01");

        var outcome = Assert.Single(result.Outcomes);
        Assert.Equal(IlmStatus.Success, outcome.Status);
        Assert.Equal(total, outcome.RowsAfter);
        Assert.Equal(IlmTestDatabase.DaysRows("2023-08-01", "2024-01-01"), result.RowsMerged);
        var audit = await db.AuditAsync();
        Assert.Equal(["p_2023_08", "p_2023_09", "p_2023_10", "p_2023_11", "p_2023_12"], audit.Select(a => a.Source));
        Assert.All(audit, a => Assert.Equal("SUCCESS", a.Status));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-08-01", "2024-01-01"), audit.Sum(a => a.Rows));
        Assert.Equal(["p_2023"], (await db.PartitionsAsync()).Keys);
        Assert.Equal(total, await db.TotalRowsAsync());
    }

    [Fact]
    public async Task Max_merges_per_run_merges_some_months_moves_the_rest_and_finishes_next_run()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-08-01", db.Warm);
        for (var m = 8; m <= 12; m++) await db.AddMonthAsync(2023, m, db.Hot);
        var total = await db.TotalRowsAsync();

        var first = await RunAsync(db, "2026-01-01", new IlmConfigOverrides { MaxMerges = 2 });

        Assert.Equal(
            [IlmActionKind.Merge, IlmActionKind.Move, IlmActionKind.Move, IlmActionKind.Move],
            first.Outcomes.Select(o => o.Action.Kind));
        Assert.All(first.Outcomes, o => Assert.Equal(IlmStatus.Success, o.Status));
        Assert.Equal(["SUCCESS", "SUCCESS", "SKIPPED", "SKIPPED", "SKIPPED"], (await db.AuditAsync()).Select(a => a.Status));
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2023", "p_2023_10", "p_2023_11", "p_2023_12"], parts.Keys.Order());
        Assert.All(parts.Values, p => Assert.Equal(db.Warm, p.Tablespace));

        var second = await RunAsync(db, "2026-01-01");
        Assert.Equal(IlmActionKind.Merge, Assert.Single(second.Outcomes).Action.Kind);
        Assert.Equal(["p_2023"], (await db.PartitionsAsync()).Keys);
        Assert.Equal(total, await db.TotalRowsAsync());
    }

    [Fact]
    public async Task January_after_a_complete_year_is_renamed_and_later_months_merge_into_it()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2024-01-01", db.Warm);
        await db.AddMonthAsync(2024, 1, db.Hot);
        await db.AddMonthAsync(2024, 2, db.Hot);
        var total = await db.TotalRowsAsync();

        var first = await RunAsync(db, "2026-02-01");
        Assert.Equal([IlmActionKind.Move, IlmActionKind.Rename], first.Outcomes.Select(o => o.Action.Kind));
        Assert.Equal(["p_2023", "p_2024", "p_2024_02"], (await db.PartitionsAsync()).Keys.Order());

        var second = await RunAsync(db, "2026-03-01");
        Assert.Equal(IlmActionKind.Merge, Assert.Single(second.Outcomes).Action.Kind);
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2023", "p_2024"], parts.Keys.Order());
        Assert.Equal("FOR VALUES FROM ('2024-01-01') TO ('2024-03-01')", parts["p_2024"].Bound);
        Assert.Equal(total, await db.TotalRowsAsync());
    }

    [Fact]
    public async Task Dry_run_and_plan_change_nothing_and_show_the_statements()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var before = await db.PartitionsAsync();

        var dry = await _ilm.RunAsync(new IlmRunRequest(db.Target, "sales")
        {
            Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1), DryRun = true,
        });

        var planned = Assert.Single(dry.Outcomes);
        Assert.Equal(IlmStatus.Planned, planned.Status);
        Assert.Contains(planned.Statements, s => s.Text ==
            "ALTER TABLE \"public\".\"sales\" ATTACH PARTITION \"public\".\"p_2023_ilm_rebuild\" " +
            "FOR VALUES FROM ('2023-01-01') TO ('2023-12-01')");
        Assert.Equal(before, await db.PartitionsAsync());
        Assert.False(await db.ControlSchemaExistsAsync());
    }

    [Fact]
    public async Task Auto_merge_off_in_the_config_table_means_moves_only()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "AUTO_MERGE_PARTITIONS", "N"));
        var config = await _ilm.GetConfigAsync(new IlmConfigRequest(db.Target));
        Assert.False(config.Config.AutoMergePartitions);
        Assert.Equal(4, config.Entries.Count);

        var result = await RunAsync(db, "2025-12-01");
        Assert.Equal(IlmActionKind.Move, Assert.Single(result.Outcomes).Action.Kind);
        Assert.Equal(db.Warm, (await db.PartitionsAsync())["p_2023_11"].Tablespace);

        // A command-line option wins over the table.
        var merged = await RunAsync(db, "2025-12-01", new IlmConfigOverrides { AutoMergePartitions = true });
        Assert.Equal(IlmActionKind.Merge, Assert.Single(merged.Outcomes).Action.Kind);
    }

    [Fact]
    public async Task Snapshot_history_summary_and_health_after_a_run()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await db.AddMonthAsync(2023, 12, db.Hot);
        await db.AnalyzeAsync();

        var snapshot = await _ilm.SnapshotAsync(new IlmTableRequest(db.Target, "sales"));
        Assert.Equal(("public", "sales", "sale_date"), (snapshot.Schema, snapshot.Table, snapshot.PartitionKey));
        Assert.Equal(["id", "sale_date", "amount"], snapshot.Columns);
        Assert.Equal(["p_2023", "p_2023_11", "p_2023_12"], snapshot.Partitions.Select(p => p.Name));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-11-01", "2023-12-01"), snapshot.Partitions[1].RowEstimate);
        Assert.Equal(db.Hot, snapshot.Partitions[1].Tablespace);
        Assert.True(snapshot.ServerMajorVersion >= 15);

        // The snapshot plans offline exactly like the live table.
        var offline = await _ilm.PlanAsync(new IlmPlanRequest
        {
            Layout = LayoutJson.Deserialize(LayoutJson.Serialize(snapshot)),
            Provider = db.Target.Provider,
            Policy = db.Policy,
            AsOf = new DateOnly(2025, 12, 1),
        });
        var live = await _ilm.PlanAsync(
            new IlmPlanRequest { Target = db.Target, Table = "sales", Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1) });
        Assert.Equal(
            live.Steps.SelectMany(s => s.Statements).Select(s => s.Text),
            offline.Steps.SelectMany(s => s.Statements).Select(s => s.Text));

        await RunAsync(db, "2025-12-01");
        var history = await _ilm.HistoryAsync(new IlmHistoryRequest(db.Target) { Table = "sales" });
        var row = Assert.Single(history);
        Assert.Equal(("p_2023_11", "p_2023", "SUCCESS"), (row.SourcePartition, row.TargetPartition, row.MergeStatus));
        Assert.NotNull(row.DurationSeconds);
        Assert.NotNull(row.MergeDate);

        var summary = await _ilm.SummaryAsync(new IlmTableRequest(db.Target, "sales"), db.Policy);
        Assert.Equal((1, 0), (summary.For(IlmTier.Warm)!.Yearly, summary.For(IlmTier.Warm)!.Monthly));
        Assert.Equal(1, summary.For(IlmTier.Hot)!.Monthly);

        var health = await _ilm.HealthAsync(new IlmHealthRequest(db.Target) { Table = "sales", Policy = db.Policy });
        Assert.True(health.Passed, string.Join("; ", health.Checks.Where(c => !c.Passed).Select(c => c.Name + ": " + c.Message)));
        Assert.Equal((1L, 1L), (health.Statistics.TotalMerges, health.Statistics.Succeeded));
        Assert.True((await _ilm.HealthAsync(new IlmHealthRequest(db.Target))).Passed);
    }

    [Fact]
    public async Task Only_the_chosen_actions_run_and_a_choice_that_cannot_run_changes_nothing()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        // As of 2026-01-01 the whole plan moves p_2019 to COLD and merges November and December into p_2023.
        await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", db.Warm);
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await db.AddMonthAsync(2023, 12, db.Hot);
        var total = await db.TotalRowsAsync();
        var before = await db.PartitionsAsync();
        IlmRunRequest Only(params string[] partitions) => new(db.Target, "sales")
        {
            Policy = db.Policy,
            AsOf = new DateOnly(2026, 1, 1),
            Only = partitions.Select(IlmActionKey.Partition).ToList(),
        };

        // The dry run shows only the chosen merge's SQL.
        var dry = await _ilm.RunAsync(Only("p_2023_11") with { DryRun = true });
        var planned = Assert.Single(dry.Outcomes);
        Assert.Equal(["p_2023", "p_2023_11"], Assert.IsType<MergeAction>(planned.Action).Sources);
        Assert.DoesNotContain(planned.Statements, s => s.Text.Contains("p_2019") || s.Text.Contains("p_2023_12"));
        Assert.Equal(["p_2023", "p_2023_11"], Assert.IsType<MergeAction>(Assert.Single(dry.Plan.Steps).Action).Sources);

        // Choices that cannot run: refused naming them, nothing written (not even the control tables).
        async Task Refused(IlmRunRequest request, string value, string reason)
        {
            var e = await Assert.ThrowsAsync<InvalidRequestException>(() => _ilm.RunAsync(request));
            Assert.Equal(("Only", value), (e.Parameter, e.Value?.ToString()));
            Assert.Contains(reason, e.Message);
        }
        await Refused(Only("p_2023_12"), "p_2023_12", "needs merge p_2023_11 into p_2023");
        await Refused(Only("p_2023_12") with { DryRun = true }, "p_2023_12", "needs merge p_2023_11 into p_2023");
        await Refused(Only("p_2031_01"), "p_2031_01", "has no partition p_2031_01");
        await Refused(Only("p_2023"), "p_2023", "the partition others merge into");
        Assert.Equal(before, await db.PartitionsAsync());
        Assert.False(await db.ControlSchemaExistsAsync());

        // The chosen merge runs; the due move and December do not, and no SKIPPED row is written for them.
        var run = await _ilm.RunAsync(Only("p_2023_11"));
        var merged = Assert.Single(run.Outcomes);
        Assert.Equal((IlmActionKind.Merge, IlmStatus.Success), (merged.Action.Kind, merged.Status));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-11-01", "2023-12-01"), run.RowsMerged);
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2019", "p_2023", "p_2023_12"], parts.Keys.Order());
        Assert.Equal((db.Warm, db.Hot), (parts["p_2019"].Tablespace, parts["p_2023_12"].Tablespace));
        Assert.Equal([("p_2023_11", "SUCCESS")], (await db.AuditAsync()).Select(a => (a.Source, a.Status)));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.dwh_ilm_execution_log"));

        // A choice is explicit: AUTO_MERGE_PARTITIONS = N does not hold it back; the move alone is a choice too.
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "AUTO_MERGE_PARTITIONS", "N"));
        Assert.Equal(IlmActionKind.Merge, Assert.Single((await _ilm.RunAsync(Only("p_2023_12"))).Outcomes).Action.Kind);
        Assert.Equal(IlmActionKind.Move, Assert.Single((await _ilm.RunAsync(Only("p_2019"))).Outcomes).Action.Kind);
        parts = await db.PartitionsAsync();
        Assert.Equal(["p_2019", "p_2023"], parts.Keys.Order());
        Assert.Equal(db.Cold, parts["p_2019"].Tablespace);
        Assert.Equal("FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')", parts["p_2023"].Bound);
        Assert.Equal(total, await db.TotalRowsAsync());
        // Done now: choosing it again is refused as not in the plan.
        await Refused(Only("p_2019"), "p_2019", "nothing to do");
    }

    [Fact]
    public async Task The_default_policy_finds_tablespaces_created_unquoted_in_lower_case()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        // CREATE TABLESPACE tbs_warm (unquoted) is stored as tbs_warm; the default policy names TBS_WARM.
        foreach (var name in new[] { "tbs_hot", "TBS_WARM", "tbs_cold" }) await db.CreateTablespaceAsync(postgres, name);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_tablespace WHERE spcname = 'TBS_WARM'"));
        await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", "tbs_warm");
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-11-01", "tbs_warm");
        await db.AddMonthAsync(2023, 11, "tbs_hot");
        await db.AddMonthAsync(2025, 11, "tbs_hot");
        var total = await db.TotalRowsAsync();
        var request = new IlmRunRequest(db.Target, "sales") { AsOf = new DateOnly(2025, 12, 1) }; // IlmPolicy.Default

        var dry = await _ilm.RunAsync(request with { DryRun = true });
        var sql = string.Join("\n", dry.Outcomes.SelectMany(o => o.Statements).Select(s => s.Text));
        Assert.Contains(") TABLESPACE \"tbs_cold\"", sql);
        Assert.DoesNotContain("TBS_", sql);

        var result = await _ilm.RunAsync(request);
        Assert.Equal(
            [(IlmActionKind.Move, IlmStatus.Success), (IlmActionKind.Merge, IlmStatus.Success)],
            result.Outcomes.Select(o => (o.Action.Kind, o.Status)));
        var parts = await db.PartitionsAsync();
        Assert.Equal(
            ("tbs_cold", "tbs_warm", "tbs_hot"),
            (parts["p_2019"].Tablespace, parts["p_2023"].Tablespace, parts["p_2025_11"].Tablespace));
        Assert.False(parts.ContainsKey("p_2023_11"));
        Assert.Equal(total, await db.TotalRowsAsync());
        // The plan compares the resolved names with the partitions' tablespaces: nothing is left to do.
        Assert.False((await _ilm.PlanAsync(
            new IlmPlanRequest { Target = db.Target, Table = "sales", AsOf = new DateOnly(2025, 12, 1) })).Plan.HasWork);
    }

    [Fact]
    public async Task Policy_tablespaces_that_match_two_differing_only_in_case_are_refused_naming_both()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await db.CreateTablespaceAsync(postgres, $"tbs_twin_{suffix}");
        await db.CreateTablespaceAsync(postgres, $"\"Tbs_Twin_{suffix}\"");
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var before = await db.PartitionsAsync();
        var policy = db.Policy with { Cold = db.Policy.Cold with { Tablespace = $"TBS_TWIN_{suffix.ToUpperInvariant()}" } };
        var asOf = new DateOnly(2025, 12, 1);

        var run = await Assert.ThrowsAsync<InvalidRequestException>(
            () => _ilm.RunAsync(new IlmRunRequest(db.Target, "sales") { Policy = policy, AsOf = asOf }));
        Assert.Equal(("Policy", $"TBS_TWIN_{suffix.ToUpperInvariant()}"), (run.Parameter, run.Value));
        Assert.Contains($"tbs_twin_{suffix}", run.Message);
        Assert.Contains($"Tbs_Twin_{suffix}", run.Message);
        await Assert.ThrowsAsync<InvalidRequestException>(
            () => _ilm.PlanAsync(new IlmPlanRequest { Target = db.Target, Table = "sales", Policy = policy, AsOf = asOf }));
        Assert.Equal(before, await db.PartitionsAsync());
        Assert.False(await db.ControlSchemaExistsAsync());

        // Named exactly, the quoted one is used.
        var exact = db.Policy with { Warm = db.Policy.Warm with { Tablespace = $"Tbs_Twin_{suffix}" } };
        var merged = await _ilm.RunAsync(new IlmRunRequest(db.Target, "sales") { Policy = exact, AsOf = asOf });
        Assert.Equal(IlmStatus.Success, Assert.Single(merged.Outcomes).Status);
        Assert.Equal($"Tbs_Twin_{suffix}", (await db.PartitionsAsync())["p_2023"].Tablespace);
    }

    [Fact]
    public async Task Config_history_health_and_plan_read_only_and_create_nothing()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);

        // No control tables yet: the defaults, marked as such.
        var config = await _ilm.GetConfigAsync(new IlmConfigRequest(db.Target));
        Assert.False(config.TableExists);
        Assert.Equal(IlmConfig.Defaults.Select(d => (d.Key, d.Value, true)).OrderBy(x => x.Key, StringComparer.Ordinal),
            config.Entries.Select(e => (e.Key, e.Value!, e.IsDefault)));
        Assert.Equal(IlmConfig.Default, config.Config);
        // No audit yet: no history, and health judged on no merges.
        Assert.Empty(await _ilm.HistoryAsync(new IlmHistoryRequest(db.Target)));
        Assert.Empty(await _ilm.HistoryAsync(new IlmHistoryRequest(db.Target) { Table = "sales" }));
        var health = await _ilm.HealthAsync(new IlmHealthRequest(db.Target) { Table = "sales", Policy = db.Policy });
        Assert.True(health.Passed, string.Join("; ", health.Checks.Where(c => !c.Passed).Select(c => c.Message)));
        Assert.Equal(0, health.Statistics.TotalMerges);
        Assert.True((await _ilm.HealthAsync(new IlmHealthRequest(db.Target))).Passed);
        Assert.True((await _ilm.PlanAsync(new IlmPlanRequest
        {
            Target = db.Target, Table = "sales", Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1),
        })).Plan.HasWork);
        Assert.False(await db.ControlSchemaExistsAsync());
        // A custom control schema is not created either.
        Assert.False((await _ilm.GetConfigAsync(new IlmConfigRequest(db.Target) { ControlSchema = "ilm_ctl" })).TableExists);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'ilm_ctl'"));

        // Once written, the rows are read from the table; a key whose row is missing shows its default, marked.
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "MAX_MERGES_PER_RUN", "7"));
        await db.ExecuteAsync("DELETE FROM partitionops.dwh_ilm_config WHERE config_key = 'MERGE_LOCK_TIMEOUT'");
        config = await _ilm.GetConfigAsync(new IlmConfigRequest(db.Target));
        Assert.True(config.TableExists);
        Assert.Equal(7, config.Config.MaxMergesPerRun);
        Assert.Equal([("MAX_MERGES_PER_RUN", "7", false), ("MERGE_LOCK_TIMEOUT", "30", true)],
            config.Entries.Where(e => e.Key is "MAX_MERGES_PER_RUN" or "MERGE_LOCK_TIMEOUT").Select(e => (e.Key, e.Value!, e.IsDefault)));
        Assert.Empty(await _ilm.HistoryAsync(new IlmHistoryRequest(db.Target)));
    }

    [Fact]
    public async Task Bad_input_is_refused_naming_the_value_and_changes_nothing()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await db.ExecuteAsync("CREATE TABLE public.plain (id int)");
        var before = await db.PartitionsAsync();
        var asOf = new DateOnly(2025, 12, 1);

        async Task Refused(IlmRunRequest request, string parameter, string value)
        {
            var e = await Assert.ThrowsAsync<InvalidRequestException>(() => _ilm.RunAsync(request));
            Assert.Equal(parameter, e.Parameter);
            Assert.Contains(value, e.Message);
        }

        await Refused(new IlmRunRequest(db.Target, "missing_table") { Policy = db.Policy, AsOf = asOf }, "Table", "missing_table");
        await Refused(new IlmRunRequest(db.Target, "plain") { Policy = db.Policy, AsOf = asOf }, "Table", "is not a partitioned table");
        await db.ExecuteAsync("CREATE TABLE public.nested (id int, d date) PARTITION BY RANGE (d)");
        await db.ExecuteAsync(
            "CREATE TABLE public.nested_2023 PARTITION OF public.nested " +
            "FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') PARTITION BY LIST (id)");
        await Refused(new IlmRunRequest(db.Target, "nested") { Policy = db.Policy, AsOf = asOf }, "Table", "is subpartitioned");
        await db.ExecuteAsync("CREATE TABLE public.by_id (id int) PARTITION BY RANGE (id)");
        await db.ExecuteAsync("CREATE TABLE public.by_id_1 PARTITION OF public.by_id FOR VALUES FROM (1) TO (100)");
        await Refused(
            new IlmRunRequest(db.Target, "by_id") { Policy = db.Policy, AsOf = asOf }, "Table", "is not range partitioned by date");
        await Refused(
            new IlmRunRequest(db.Target, "sales; drop table sales") { Policy = db.Policy, AsOf = asOf },
            "Table",
            "sales; drop table sales");
        var unknownTablespace = db.Policy with { Warm = db.Policy.Warm with { Tablespace = "tbs_nowhere" } };
        await Refused(new IlmRunRequest(db.Target, "sales") { Policy = unknownTablespace, AsOf = asOf }, "Policy", "tbs_nowhere");
        await Refused(
            new IlmRunRequest(db.Target, "sales")
            {
                Policy = db.Policy, AsOf = asOf, Overrides = new IlmConfigOverrides { LockTimeoutSeconds = -5 },
            },
            "LockTimeoutSeconds",
            "-5");

        var policyFile = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(policyFile, "{ \"tier_config\": { \"warm\": ");
        try
        {
            var e = Assert.Throws<InvalidRequestException>(() => IlmPolicy.Load(policyFile));
            Assert.Contains(policyFile, e.Message);
        }
        finally
        {
            File.Delete(policyFile);
        }
        Assert.Equal("AsOf", Assert.Throws<InvalidRequestException>(() => IlmInput.ParseAsOf("2025-02-30")).Parameter);

        Assert.Equal(before, await db.PartitionsAsync());
        Assert.False(await db.ControlSchemaExistsAsync());
    }
}
