using Npgsql;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>Interrupted runs, competing runners and the claims the PostgreSQL merge rests on.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmRecoveryTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private readonly IlmService _ilm = new();

    private Task<IlmRunResult> RunAsync(IlmTestDatabase db, string asOf) =>
        _ilm.RunAsync(new IlmRunRequest(db.Target, "sales") { Policy = db.Policy, AsOf = DateOnly.Parse(asOf) });

    private static Task InProgressAsync(IlmTestDatabase db, string source, string target) => db.ExecuteAsync(
        "INSERT INTO partitionops.dwh_ilm_partition_merges (table_owner, table_name, source_partition, target_partition, merge_status) " +
        $"VALUES ('public', 'sales', '{source}', '{target}', 'IN_PROGRESS')");

    [Fact]
    public async Task A_run_killed_before_its_merge_committed_is_marked_failed_and_merged_again()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        // Setting a value creates the control tables (reading does not).
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "MAX_MERGES_PER_RUN", "50"));
        await InProgressAsync(db, "p_2023_11", "p_2023");            // the runner died inside the transaction
        var total = await db.TotalRowsAsync();

        var result = await RunAsync(db, "2025-12-01");

        Assert.Equal(ReconcileOutcome.NotStarted, Assert.Single(result.Reconciled).Outcome);
        Assert.Equal(IlmStatus.Success, Assert.Single(result.Outcomes).Status);
        Assert.Equal(["FAILED", "SUCCESS"], (await db.AuditAsync()).Select(a => a.Status));
        Assert.Equal(total, await db.TotalRowsAsync());
    }

    [Fact]
    public async Task A_run_killed_after_its_merge_committed_is_marked_success()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await RunAsync(db, "2025-12-01");
        await db.ExecuteAsync("UPDATE partitionops.dwh_ilm_partition_merges SET merge_status = 'IN_PROGRESS'");

        var result = await RunAsync(db, "2025-12-01");

        Assert.Equal(ReconcileOutcome.Completed, Assert.Single(result.Reconciled).Outcome);
        Assert.Empty(result.Outcomes);
        Assert.Equal("SUCCESS", Assert.Single(await db.AuditAsync()).Status);
    }

    [Fact]
    public async Task A_merge_left_under_the_highest_source_name_is_renamed_on_the_next_run()
    {
        // What Oracle leaves when a run dies between MERGE ... INTO P_2023_12 and RENAME P_2023_12 TO P_2023.
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023_12", "2023-01-01", "2024-01-01", db.Warm);
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "MAX_MERGES_PER_RUN", "50"));
        await InProgressAsync(db, "p_2023_11", "p_2023");
        await InProgressAsync(db, "p_2023_12", "p_2023");

        var result = await RunAsync(db, "2026-01-01");

        var decision = Assert.Single(result.Reconciled);
        Assert.Equal((ReconcileOutcome.RenameNeeded, "p_2023_12"), (decision.Outcome, decision.RenameFrom));
        Assert.Equal(["p_2023"], (await db.PartitionsAsync()).Keys);
        Assert.All(await db.AuditAsync(), a => Assert.Equal("SUCCESS", a.Status));
        Assert.False(result.Plan.Plan.HasWork);
    }

    [Fact]
    public async Task A_one_month_merge_left_under_the_month_name_is_renamed_on_the_next_run()
    {
        // What Oracle leaves when a run dies between MERGE P_2023, P_2023_11 INTO P_2023_11 and RENAME P_2023_11 TO P_2023:
        // the source's name is still there (it holds the merged range), only the target's name is gone.
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023_11", "2023-01-01", "2023-12-01", db.Warm);
        await db.AddMonthAsync(2023, 12, db.Hot);
        await _ilm.SetConfigAsync(new IlmSetConfigRequest(db.Target, "MAX_MERGES_PER_RUN", "50"));
        await InProgressAsync(db, "p_2023_11", "p_2023");

        var result = await RunAsync(db, "2025-12-01");

        var decision = Assert.Single(result.Reconciled);
        Assert.Equal((ReconcileOutcome.RenameNeeded, "p_2023_11"), (decision.Outcome, decision.RenameFrom));
        Assert.Equal(["p_2023", "p_2023_12"], (await db.PartitionsAsync()).Keys.Order());
        Assert.Equal([("p_2023_11", "SUCCESS")], (await db.AuditAsync()).Select(a => (a.Source, a.Status)));
        Assert.Empty(result.Outcomes); // December is still HOT on 2025-12-01
    }

    [Fact]
    public async Task Two_runners_never_work_the_same_table()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await using var other = new NpgsqlConnection(db.ConnectionString);
        await other.OpenAsync();
        var lockStatement = PostgreSqlIlmDialect.Instance.TryLockTable("public", "sales")!;
        var takeSql = lockStatement.Text.Replace("@lock_name", "'" + lockStatement.Parameters[0].Value + "'");
        await using (var take = new NpgsqlCommand(takeSql, other))
            Assert.True((bool)(await take.ExecuteScalarAsync())!);

        var e = await Assert.ThrowsAsync<PartitionOpsException>(() => RunAsync(db, "2025-12-01"));
        Assert.Contains("another ILM run", e.Message);
        Assert.True((await db.PartitionsAsync()).ContainsKey("p_2023_11"));
    }

    [Theory]
    [InlineData(MergeMethod.Rebuild, "p_2023" + PostgreSqlIlmDialect.RebuildSuffix)]
    [InlineData(MergeMethod.InPlace, "p_2023")]
    public async Task Attach_skips_its_validation_scan_thanks_to_the_checked_constraint(MergeMethod method, string attached)
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Warm);
        var plan = await _ilm.PlanAsync(
            new IlmPlanRequest { Target = db.Target, Table = "sales", Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1) });
        var merge = Assert.IsType<MergeAction>(Assert.Single(plan.Steps).Action);
        var script = PostgreSqlIlmDialect.Instance.Merge(plan.Layout, merge, online: false, method);

        // PostgreSQL says at DEBUG1 when ATTACH PARTITION trusts existing constraints instead of scanning.
        var notices = new List<string>();
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        connection.Notice += (_, e) => notices.Add(e.Notice.MessageText);
        await using (var debug = new NpgsqlCommand("SET client_min_messages = debug1", connection)) await debug.ExecuteNonQueryAsync();
        foreach (var s in script.Prepare) await using (var c = new NpgsqlCommand(s.Text, connection)) await c.ExecuteNonQueryAsync();
        await using (var tx = await connection.BeginTransactionAsync())
        {
            foreach (var s in script.Lock.Concat(script.Merge).Concat(script.SwapLock).Concat(script.Swap))
                await using (var c = new NpgsqlCommand(s.Text, connection, tx)) await c.ExecuteNonQueryAsync();
            await tx.CommitAsync();
        }

        Assert.Contains(notices, n => n.Contains($"partition constraint for table \"{attached}\" is implied by existing constraints"));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-01-01", "2023-12-01"), await db.TotalRowsAsync());
    }

    /// <summary>
    /// A writer inserts into the months being merged (and a HOT month) for the whole run. in_place: the merge waits for
    /// each insert and succeeds. rebuild: a writer held back by the copy already holds the partitioned table's ROW
    /// EXCLUSIVE lock, so the swap yields (rolls back whole, lets it through) instead of deadlocking it, and with a writer
    /// that never stops it gives up at MERGE_LOCK_TIMEOUT having changed nothing (or succeeds when no insert into the
    /// months waits at the moment of its swap); the next run merges. Either way no row is lost and the writer never sees
    /// an error.
    /// </summary>
    [Theory]
    [InlineData(MergeMethod.InPlace)]
    [InlineData(MergeMethod.Rebuild)]
    public async Task Rows_written_while_months_merge_are_not_lost(MergeMethod method)
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-08-01", db.Warm);
        for (var m = 8; m <= 12; m++) await db.AddMonthAsync(2023, m, db.Hot);
        await db.AddMonthAsync(2024, 1, db.Hot);
        var initial = await db.TotalRowsAsync();
        var request = new IlmRunRequest(db.Target, "sales")
        {
            Policy = db.Policy with { MergeMethod = method },
            AsOf = DateOnly.Parse("2026-01-01"),
            Overrides = new IlmConfigOverrides { LockTimeoutSeconds = 3 },
        };

        using var stop = new CancellationTokenSource();
        var inserted = 0;
        var writer = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(db.ConnectionString);
            await connection.OpenAsync();
            var day = 0;
            while (!stop.IsCancellationRequested)
            {
                var date = new DateTime(2023, 8, 1).AddDays(day++ % 180);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO public.sales (id, sale_date, amount) VALUES (-1, @d, 2)", connection);
                insert.Parameters.AddWithValue("d", DateOnly.FromDateTime(date));
                await insert.ExecuteNonQueryAsync();
                inserted++;
            }
        });
        await Task.Delay(200);
        var result = await _ilm.RunAsync(request);
        await Task.Delay(200);
        stop.Cancel();
        await writer; // throws if the writer ever got an error (a deadlock victim, a vanished partition)

        Assert.True(inserted > 0);
        Assert.Equal(initial + inserted, await db.TotalRowsAsync());
        var merge = Assert.Single(result.Outcomes, o => o.Action is MergeAction);
        if (method == MergeMethod.InPlace || merge.Status == IlmStatus.Success)
        {
            // in_place always; rebuild when no insert was waiting at the moment of its swap.
            Assert.Equal(IlmStatus.Success, merge.Status);
        }
        else
        {
            Assert.Equal((IlmStatus.Failed, ErrorKind.LockTimeout), (merge.Status, merge.ErrorKind));
            Assert.Contains("wait to write into the partitions being rebuilt", merge.Error);
            Assert.Equal(IlmStatus.Success, Assert.Single((await _ilm.RunAsync(request)).Outcomes).Status);
            Assert.Equal(initial + inserted, await db.TotalRowsAsync());
        }
        Assert.Equal(["p_2023", "p_2024_01"], (await db.PartitionsAsync()).Keys.Order());
    }

    [Fact]
    public async Task Progress_reports_each_action_starting_and_ending()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", db.Warm);
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var events = new List<IlmProgress>();
        var progress = new SynchronousProgress<IlmProgress>(events.Add);

        await _ilm.RunAsync(new IlmRunRequest(db.Target, "sales") { Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1) }, progress);

        Assert.Equal(["starting", "SUCCESS", "starting", "SUCCESS"], events.Select(e => e.Stage));
        Assert.All(events, e => Assert.Equal(2, e.Count));
    }

    [Fact]
    public async Task Max_duration_stops_before_the_next_action_and_the_next_run_carries_on()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", db.Warm);
        await db.AddWarm2023WithNovemberAsync(db.Hot);

        var stopped = await _ilm.RunAsync(new IlmRunRequest(db.Target, "sales")
        {
            Policy = db.Policy, AsOf = new DateOnly(2025, 12, 1), MaxDuration = TimeSpan.Zero,
        });
        Assert.Empty(stopped.Outcomes);
        Assert.True(stopped.StoppedEarly);
        Assert.Equal(2, stopped.NotStarted.Count);
        Assert.Empty(await db.AuditAsync());

        var resumed = await RunAsync(db, "2025-12-01");
        Assert.Equal(2, resumed.Outcomes.Count(o => o.Status == IlmStatus.Success));
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
