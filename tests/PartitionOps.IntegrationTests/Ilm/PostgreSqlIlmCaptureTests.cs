using System.Diagnostics;
using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// The rebuild with change capture (the partitioned table has a primary key): writers to the partitions being merged go
/// on during the copy, their changes are captured by a trigger into a log table and applied before the swap.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmCaptureTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly DateOnly AsOf = new(2026, 1, 1);

    private static IlmRunRequest Request(IlmTestDatabase db) => new(db.Target, "sales")
    {
        Policy = db.Policy with { MergeMethod = MergeMethod.Rebuild },
        AsOf = AsOf,
        Overrides = new IlmConfigOverrides { LockTimeoutSeconds = 60 },
    };

    /// <summary>p_2023 (January to July, WARM, with <paramref name="extraRows"/> more rows) and August to December 2023
    /// merge into p_2023; January 2024 stays. The table has a primary key (id, sale_date).</summary>
    private async Task<IlmTestDatabase?> KeyedAsync(int extraRows)
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return null;
        await db.ExecuteAsync("ALTER TABLE public.sales ADD PRIMARY KEY (id, sale_date)");
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-08-01", db.Warm);
        for (var m = 8; m <= 12; m++) await db.AddMonthAsync(2023, m, db.Hot);
        await db.AddMonthAsync(2024, 1, db.Hot);
        if (extraRows > 0)
            await db.ExecuteAsync($"""
                INSERT INTO public.sales (id, sale_date, amount)
                SELECT 1000000 + n, date '2023-01-01' + (n % 212), 1.5 FROM generate_series(1, {extraRows}) n
                """);
        await db.AnalyzeAsync();
        return db;
    }

    /// <summary>
    /// A writer inserts, updates (the amount, and the date: rows move between the months and from the yearly partition
    /// into August) and deletes rows of the months being merged and of the yearly partition, in transactions of three
    /// statements, applying each change to a plain mirror table too, for the whole merge. The merge succeeds; the merged
    /// partition then holds exactly the mirror's rows; and the writer's longest statement is far shorter than the copy.
    /// </summary>
    [Fact]
    public async Task A_merge_under_continuous_writes_completes_and_keeps_every_change_and_writers_do_not_wait_for_the_copy()
    {
        var db = await KeyedAsync(extraRows: 400_000);
        if (db is null) return;
        await db.ExecuteAsync("CREATE TABLE public.mirror AS SELECT * FROM public.sales WHERE sale_date < '2024-01-01'");
        await db.ExecuteAsync("CREATE INDEX mirror_id ON public.mirror (id)");
        var maxId = await db.ScalarAsync<long>("SELECT max(id) FROM public.sales WHERE id < 1000000");
        var timer = new CopyTimer();

        using var stop = new CancellationTokenSource();
        var transactions = 0;
        var longest = TimeSpan.Zero;
        var writer = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(db.ConnectionString);
            await connection.OpenAsync();
            var random = new Random(42);
            var next = 50_000_000L;
            async Task Both(string sql, NpgsqlTransaction tx, params (string Name, object Value)[] parameters)
            {
                foreach (var table in new[] { "public.sales", "public.mirror" })
                {
                    await using var command = new NpgsqlCommand(sql.Replace("{t}", table), connection, tx);
                    foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
                    var clock = Stopwatch.StartNew();
                    await command.ExecuteNonQueryAsync();
                    if (clock.Elapsed > longest) longest = clock.Elapsed;
                }
            }
            while (!stop.IsCancellationRequested)
            {
                await using var tx = await connection.BeginTransactionAsync();
                var day = DateOnly.FromDateTime(new DateTime(2023, 1, 1).AddDays(random.Next(365)));
                await Both("INSERT INTO {t} (id, sale_date, amount) VALUES (@id, @d, 7)", tx, ("id", next++), ("d", day));
                await Both("UPDATE {t} SET amount = amount + 1, sale_date = least(sale_date + 1, date '2023-12-31') " +
                    "WHERE id = @id AND sale_date < '2024-01-01'", tx, ("id", (long)random.Next(1, (int)maxId)));
                await Both("DELETE FROM {t} WHERE id = @id AND sale_date < '2024-01-01'", tx,
                    ("id", random.Next(2) == 0 ? random.Next(1, (int)maxId) : 1_000_000L + random.Next(1, 400_000)));
                await tx.CommitAsync();
                transactions++;
                await Task.Delay(1);
            }
        });
        await Task.Delay(300);
        var result = await new IlmService(hook: timer).RunAsync(Request(db));
        await Task.Delay(200);
        stop.Cancel();
        await writer; // throws if the writer ever got an error

        var merge = Assert.Single(result.Outcomes, o => o.Action is MergeAction);
        Assert.True(merge.Status == IlmStatus.Success, merge.Error);
        Assert.Contains("change capture:", merge.Error);
        Assert.True(merge.RowsWritten > merge.RowsBefore, $"no captured change applied ({merge.Error})");
        Assert.Equal(["p_2023", "p_2024_01"], (await db.PartitionsAsync()).Keys.Order());
        Assert.Equal(0L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT * FROM public.p_2023 EXCEPT SELECT * FROM public.mirror) extra"));
        Assert.Equal(0L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT * FROM public.mirror EXCEPT SELECT * FROM public.p_2023) missing"));
        Assert.Equal(await db.ScalarAsync<long>("SELECT count(*) FROM public.mirror"),
            await db.ScalarAsync<long>("SELECT count(*) FROM public.p_2023"));
        // rows_merged stays the rows copied per source; the note says how many captured changes came on top.
        Assert.All(await db.AuditAsync(), a => Assert.Contains("change capture:", a.Error));
        await IlmInvariants.AssertNoLeftoversAsync(db, "after the merge");
        output.WriteLine($"{transactions} writer transactions; longest writer statement {longest.TotalMilliseconds:N0} ms; " +
            $"copy {timer.Copy.TotalMilliseconds:N0} ms; {merge.Error}");
        Assert.True(transactions > 20, $"{transactions} writer transactions");
        Assert.True(longest < timer.Copy / 2,
            $"the writer waited {longest.TotalMilliseconds:N0} ms in one statement, the copy took {timer.Copy.TotalMilliseconds:N0} ms");
    }

    /// <summary>The copy's duration: from its first statement to its commit.</summary>
    private sealed class CopyTimer : IIlmStatementHook
    {
        private Stopwatch? _clock;

        public TimeSpan Copy { get; private set; }

        public Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (point.Phase == "merge" && point.Index == 0) _clock = Stopwatch.StartNew();
            else if (point.Phase != "merge" && _clock is { IsRunning: true })
            {
                _clock.Stop();
                Copy = _clock.Elapsed;
            }
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// The server restarts (immediate mode, like a crash) during catch-up: trigger, function, log and rebuild table stay
    /// behind; the application's writes into a merged month still work; the next run drops them (functions first) and
    /// converges, with that row.
    /// </summary>
    [Fact]
    public async Task A_server_restart_during_catch_up_leaves_writes_working_and_the_next_run_drops_the_leftovers_and_merges()
    {
        if (postgres.Cluster is null) return; // IlmTestDatabase.CreateAsync says why
        var db = await KeyedAsync(extraRows: 0);
        if (db is null) return;
        await db.ExecuteAsync("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$");
        await db.ExecuteAsync("CHECKPOINT");
        NpgsqlConnection.ClearAllPools();
        var months = await IlmInvariants.MonthsAsync(db);
        var coverage = IlmInvariants.Coverage((await IlmInvariants.LayoutAsync(db)).InBoundOrder());
        var restart = new RestartAtHook(postgres.Cluster, "catch-up");

        await Assert.ThrowsAnyAsync<Exception>(() => new IlmService(hook: restart).RunAsync(Request(db)));
        NpgsqlConnection.ClearAllPools();
        Assert.True(restart.Done, "the merge never reached its catch-up");
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "after the restart");
        Assert.Equal(1L, await db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.p_2023_11'::regclass AND tgname = 'partitionops_ilm_capture'"));

        await db.ExecuteAsync("INSERT INTO public.sales (id, sale_date, amount) VALUES (90000001, '2023-11-15', 1)");
        months["2023-11"] = (months["2023-11"].Rows + 1, months["2023-11"].Sum + 1);

        var next = await new IlmService().RunAsync(Request(db));
        Assert.Equal(["function p_2023_ilm_capture", "log table p_2023_ilm_log", "table p_2023_ilm_rebuild"],
            next.LeftoversDropped);
        Assert.Equal(IlmStatus.Success, Assert.Single(next.Outcomes, o => o.Action is MergeAction).Status);
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "next run");
        await IlmInvariants.AssertNoLeftoversAsync(db, "next run");
        Assert.Equal(["p_2023", "p_2024_01"], (await db.PartitionsAsync()).Keys.Order());
    }

    /// <summary>TRUNCATE of a partition being rebuilt would never reach the copy: it is refused while the capture is set.</summary>
    [Fact]
    public async Task Truncate_of_a_source_is_refused_while_it_is_captured_and_works_again_after_the_merge()
    {
        var db = await KeyedAsync(extraRows: 0);
        if (db is null) return;
        string? refused = null;
        var truncate = new AtHook("catch-up", async () =>
        {
            try { await db.ExecuteAsync("TRUNCATE public.p_2023_12"); }
            catch (PostgresException e) { refused = e.MessageText; }
        });

        var result = await new IlmService(hook: truncate).RunAsync(Request(db));

        Assert.Contains("is being rebuilt by a partitionops ILM merge or move", refused);
        Assert.Equal(IlmStatus.Success, Assert.Single(result.Outcomes, o => o.Action is MergeAction).Status);
        Assert.Equal(IlmTestDatabase.DaysRows("2023-01-01", "2024-01-01"),
            await db.ScalarAsync<long>("SELECT count(*) FROM public.p_2023"));
        await db.ExecuteAsync("TRUNCATE public.p_2023");
    }

    /// <summary>
    /// The dry run shows every statement in the order it runs: capture setup, copy, catch-up, swap locks, the rest of the
    /// log, the swap and the capture's removal; a table without a key shows the SHARE-lock copy.
    /// </summary>
    [Fact]
    public async Task The_dry_run_shows_the_capture_statements_in_order_and_a_table_without_a_key_the_share_lock_copy()
    {
        var db = await KeyedAsync(extraRows: 0);
        if (db is null) return;
        var keyed = await new IlmService().RunAsync(Request(db) with { DryRun = true });
        var texts = Assert.Single(keyed.Outcomes, o => o.Action is MergeAction).Statements.Select(s => s.Text).ToList();
        int At(string text) => texts.FindIndex(t => t.Contains(text, StringComparison.Ordinal));
        var order = new[]
        {
            "CREATE TABLE \"public\".\"p_2023_ilm_log\"", "CREATE FUNCTION", "CREATE TRIGGER", "REPEATABLE READ",
            "INSERT INTO \"public\".\"p_2023_ilm_rebuild\"", "repeated, each time its own transaction", "IN ACCESS EXCLUSIVE MODE",
            "ATTACH PARTITION", "DROP FUNCTION", "DROP TABLE \"public\".\"p_2023_ilm_log\"",
        }.Select(At).ToList();
        Assert.DoesNotContain(-1, order);
        Assert.Equal(order.Order(), order);
        Assert.DoesNotContain(texts, t => t.Contains("IN SHARE MODE", StringComparison.Ordinal));

        await db.ExecuteAsync("ALTER TABLE public.sales DROP CONSTRAINT sales_pkey");
        var plain = await new IlmService().RunAsync(Request(db) with { DryRun = true });
        var plainTexts = Assert.Single(plain.Outcomes, o => o.Action is MergeAction).Statements.Select(s => s.Text).ToList();
        Assert.Contains(plainTexts, t => t.EndsWith("IN SHARE MODE", StringComparison.Ordinal));
        Assert.DoesNotContain(plainTexts, t => t.Contains("CREATE TRIGGER", StringComparison.Ordinal));
    }

    /// <summary>
    /// A report holds the yearly partition for a few seconds: the swap cannot get its locks, so it is rolled back and
    /// retried, with a catch-up batch in between (the log it applies under its locks stays short); the copy is not
    /// redone; rows written meanwhile are applied; the merge succeeds once the report ends.
    /// </summary>
    [Fact]
    public async Task A_swap_held_back_by_a_report_retries_the_swap_only_with_catch_up_in_between()
    {
        var db = await KeyedAsync(extraRows: 0);
        if (db is null) return;
        var points = new PhaseCounter();
        await using var report = new NpgsqlConnection(db.ConnectionString);
        await report.OpenAsync();
        var tx = await report.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("LOCK TABLE public.p_2023 IN ACCESS SHARE MODE", report, tx))
            await hold.ExecuteNonQueryAsync();

        var run = Task.Run(() => new IlmService(hook: points).RunAsync(Request(db)));
        for (var i = 0; i < 600 && points.Count("swap-lock") == 0; i++) await Task.Delay(25);
        for (var n = 1; n <= 5; n++)
            await db.ExecuteAsync($"INSERT INTO public.sales (id, sale_date, amount) VALUES ({90000000 + n}, '2023-11-15', 1)");
        await Task.Delay(TimeSpan.FromSeconds(5));
        await tx.RollbackAsync();
        var result = await run;

        var merge = Assert.Single(result.Outcomes, o => o.Action is MergeAction);
        Assert.True(merge.Status == IlmStatus.Success, merge.Error);
        Assert.Equal(1, points.Count("merge"));
        Assert.True(points.Count("catch-up") >= 2, "no catch-up between swap attempts");
        Assert.Equal(IlmTestDatabase.DaysRows("2023-01-01", "2024-01-01") + 5,
            await db.ScalarAsync<long>("SELECT count(*) FROM public.p_2023"));
        Assert.Contains("change capture: 5 change(s)", merge.Error);
        await IlmInvariants.AssertNoLeftoversAsync(db, "after the merge");
    }

    /// <summary>How many times each phase started (its first statement point), read safely while the run goes on.</summary>
    private sealed class PhaseCounter : IIlmStatementHook
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _starts = new();

        public int Count(string phase) => _starts.GetValueOrDefault(phase);

        public Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (point.Index == 0) _starts.AddOrUpdate(point.Phase, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }
    }

    /// <summary>Runs an action once, before the first statement point of a phase.</summary>
    private sealed class AtHook(string phase, Func<Task> action) : IIlmStatementHook
    {
        private bool _done;

        public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (_done || point.Phase != phase) return;
            _done = true;
            await action();
        }
    }

    private sealed class RestartAtHook(global::PartitionOps.Demo.ThrowawayPostgres cluster, string phase) : IIlmStatementHook
    {
        public bool Done { get; private set; }

        public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (Done || point.Phase != phase) return;
            Done = true;
            await cluster.RestartAsync(ct: ct);
        }
    }
}
