using System.Diagnostics;
using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Providers;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// What stands in a merge's way on a real server: dependent objects, a second runner, a server restart, readers and
/// writers of other partitions. Invariants are checked with <see cref="IlmInvariants"/>.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmConcurrencyTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly DateOnly AsOf = new(2025, 12, 1);

    private static IlmRunRequest Request(IlmTestDatabase db, int? lockTimeoutSeconds = null) => new(db.Target, "sales")
    {
        Policy = db.Policy,
        AsOf = AsOf,
        Overrides = new IlmConfigOverrides { LockTimeoutSeconds = lockTimeoutSeconds },
    };

    private async Task<(IlmTestDatabase Db, SortedDictionary<string, (long, decimal)> Months, List<(DateTime?, DateTime?)> Coverage)?>
        ScenarioAsync()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return null;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        await db.AddMonthAsync(2025, 11, db.Hot);
        var coverage = IlmInvariants.Coverage((await IlmInvariants.LayoutAsync(db)).InBoundOrder());
        return (db, await IlmInvariants.MonthsAsync(db), coverage);
    }

    [Theory]
    [InlineData(
        "CREATE VIEW public.november AS SELECT * FROM public.p_2023_11",
        "view november depends on p_2023_11",
        "DROP VIEW public.november")]
    [InlineData(
        "ALTER TABLE public.p_2023_11 ADD PRIMARY KEY (id); " +
        "CREATE TABLE public.refund (sale_id bigint REFERENCES public.p_2023_11 (id))",
        "foreign key refund_sale_id_fkey of refund references p_2023_11",
        "DROP TABLE public.refund")]
    public async Task A_dependent_object_fails_the_merge_before_any_copy_naming_it_and_the_next_run_converges(
        string create, string named, string drop)
    {
        if (await ScenarioAsync() is not var (db, months, coverage)) return;
        await db.ExecuteAsync(create);
        var before = await db.PartitionsAsync();

        var blocked = await new IlmService().RunAsync(Request(db));

        var merge = Assert.Single(blocked.Outcomes, o => o.Action is MergeAction);
        Assert.Equal((IlmStatus.Failed, ErrorKind.Permanent), (merge.Status, merge.ErrorKind));
        Assert.Contains(named, merge.Error);
        Assert.Null(merge.RowsWritten);
        Assert.Equal([("p_2023_11", IlmStatus.Failed)], await IlmInvariants.AuditAsync(db));
        Assert.Equal(before.Keys.Order(), (await db.PartitionsAsync()).Keys.Order());
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "blocked");
        await IlmInvariants.AssertNoLeftoversAsync(db, "blocked");

        await db.ExecuteAsync(drop);
        var next = await new IlmService().RunAsync(Request(db));
        Assert.Equal(IlmStatus.Success, Assert.Single(next.Outcomes).Status);
        Assert.Equal(["p_2023", "p_2025_11"], (await db.PartitionsAsync()).Keys.Order());
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "next run");
    }

    /// <summary>
    /// Rows written come from the copies' row counts, never from reltuples (-1, "unknown", on a never-analysed partition);
    /// the rebuilt partition keeps the name of the old one's index, attached to the parent's index, and an estimate now.
    /// </summary>
    [Fact]
    public async Task Rows_written_are_counted_on_never_analysed_partitions_and_index_names_are_kept()
    {
        if (await ScenarioAsync() is not var (db, months, coverage)) return;
        Assert.Equal(-1f, await db.ScalarAsync<float>("SELECT reltuples FROM pg_class WHERE relname = 'p_2023_11'"));
        var indexBefore = await db.ScalarAsync<string>(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'public.p_2023'::regclass");

        var result = await new IlmService().RunAsync(Request(db));

        var merge = Assert.Single(result.Outcomes);
        Assert.Equal(0, merge.Action.RowsRewritten); // the plan's estimate: unknown, shown as 0 by the planner
        var rows = IlmTestDatabase.DaysRows("2023-01-01", "2023-12-01");
        Assert.Equal((rows, rows), (merge.RowsWritten, result.RowsWritten));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-11-01", "2023-12-01"), merge.RowsMerged);
        Assert.Equal(indexBefore, await db.ScalarAsync<string>(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid " +
            "JOIN pg_inherits h ON h.inhrelid = i.indexrelid " +
            "WHERE i.indrelid = 'public.p_2023'::regclass AND h.inhparent = 'public.sales_sale_date'::regclass"));
        Assert.Equal((float)rows, await db.ScalarAsync<float>("SELECT reltuples FROM pg_class WHERE relname = 'p_2023'"));
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "merged");
    }

    /// <summary>
    /// A second run that read the table before the first one finished, and takes the run lock after it: it plans again
    /// from the layout read under the lock, finds nothing to do, and writes nothing (no false FAILED rows, no constraint).
    /// </summary>
    [Fact]
    public async Task A_run_that_waited_behind_another_plans_again_under_the_lock_and_does_nothing_wrong()
    {
        if (await ScenarioAsync() is not var (db, months, coverage)) return;
        IlmRunResult? first = null;
        var waits = new RunFirstHook(async () => first = await new IlmService().RunAsync(Request(db)));

        var second = await new IlmService(hook: waits).RunAsync(Request(db));

        Assert.NotNull(first);
        Assert.Equal(IlmStatus.Success, Assert.Single(first!.Outcomes).Status);
        Assert.True(second.Plan.Plan.Work.Any() is false, "the second run planned from a stale layout");
        Assert.Empty(second.Outcomes);
        Assert.Equal([("p_2023_11", IlmStatus.Success)], await IlmInvariants.AuditAsync(db));
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "after both runs");
        await IlmInvariants.AssertNoLeftoversAsync(db, "after both runs");
    }

    /// <summary>Before taking the run lock, lets another whole run happen (the run that "got there first").</summary>
    private sealed class RunFirstHook(Func<Task> other) : IIlmStatementHook
    {
        public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (point.Phase == "run-lock") await other();
        }
    }

    [Fact]
    public async Task A_server_restart_mid_merge_loses_nothing_and_the_next_run_reconciles_and_merges()
    {
        if (postgres.Cluster is null) return; // IlmTestDatabase.CreateAsync says why
        if (await ScenarioAsync() is not var (db, months, coverage)) return;
        // The throwaway cluster commits asynchronously (speed over durability); a crash may then lose the last commits,
        // here the IN_PROGRESS audit row. Production commits synchronously: so does this database for this test.
        await db.ExecuteAsync("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$");
        await db.ExecuteAsync("CHECKPOINT");
        NpgsqlConnection.ClearAllPools();
        var restarted = new RestartHook(postgres.Cluster);

        await Assert.ThrowsAnyAsync<Exception>(() => new IlmService(hook: restarted).RunAsync(Request(db)));
        NpgsqlConnection.ClearAllPools();

        Assert.True(restarted.Done, "the merge never reached its swap");
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "after the restart");
        await IlmInvariants.AssertNoLeftoversAsync(db, "after the restart");
        Assert.Equal([("p_2023_11", IlmStatus.InProgress)], await IlmInvariants.AuditAsync(db));

        var next = await new IlmService().RunAsync(Request(db));
        Assert.Equal(ReconcileOutcome.NotStarted, Assert.Single(next.Reconciled).Outcome);
        Assert.Equal(IlmStatus.Success, Assert.Single(next.Outcomes).Status);
        Assert.Equal([("p_2023_11", IlmStatus.Failed), ("p_2023_11", IlmStatus.Success)], await IlmInvariants.AuditAsync(db));
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "next run");
    }

    /// <summary>Restarts the server (immediate mode, like a crash) once the copy is done, before the swap takes its locks.</summary>
    private sealed class RestartHook(global::PartitionOps.Demo.ThrowawayPostgres cluster) : IIlmStatementHook
    {
        public bool Done { get; private set; }

        public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (Done || point.Phase != "swap-lock") return;
            Done = true;
            await cluster.RestartAsync(ct: ct);
        }
    }

    /// <summary>
    /// Readers and writers of a HOT partition keep going while (1) the merge cannot get its swap locks because a long
    /// report holds the yearly partition (it retries until MERGE_LOCK_TIMEOUT) and (2) a merge with a yearly partition of
    /// some size copies and swaps. A monitor samples pg_stat_activity every 20 ms: no backend waits 1 s or more on a lock
    /// held or queued by the merge's backend.
    /// </summary>
    [Fact]
    public async Task Readers_and_writers_of_other_partitions_never_wait_a_second_for_a_merge()
    {
        if (await ScenarioAsync() is not var (db, months, _)) return;
        await db.ExecuteAsync("""
            INSERT INTO public.sales (id, sale_date, amount)
            SELECT 1000000 + n, date '2023-01-01' + (n % 300), 1.5 FROM generate_series(1, 300000) n
            """);
        var pid = new PidHook();

        using var stop = new CancellationTokenSource();
        var reads = 0;
        var writes = 0;
        var reader = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(db.ConnectionString);
            await c.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var read = new NpgsqlCommand("SELECT count(*) FROM public.sales WHERE sale_date >= '2025-11-01'", c);
                await read.ExecuteScalarAsync();
                reads++;
                await Task.Delay(50);
            }
        });
        var writer = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(db.ConnectionString);
            await c.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var write = new NpgsqlCommand(
                    "INSERT INTO public.sales (id, sale_date, amount) VALUES (-1, '2025-11-15', 1)", c);
                await write.ExecuteNonQueryAsync();
                writes++;
                await Task.Delay(50);
            }
        });
        var longest = TimeSpan.Zero;
        var monitor = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(db.ConnectionString);
            await c.OpenAsync();
            var waitingSince = new Dictionary<int, Stopwatch>();
            while (!stop.IsCancellationRequested)
            {
                var waiting = new HashSet<int>();
                if (pid.Pid != 0)
                {
                    await using var q = new NpgsqlCommand(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND @merge = ANY (pg_blocking_pids(pid))", c);
                    q.Parameters.AddWithValue("merge", pid.Pid);
                    await using var r = await q.ExecuteReaderAsync();
                    while (await r.ReadAsync()) waiting.Add(r.GetInt32(0));
                }
                foreach (var p in waitingSince.Keys.Where(p => !waiting.Contains(p)).ToList()) waitingSince.Remove(p);
                foreach (var p in waiting)
                {
                    if (!waitingSince.TryGetValue(p, out var since)) waitingSince[p] = since = Stopwatch.StartNew();
                    if (since.Elapsed > longest) longest = since.Elapsed;
                }
                await Task.Delay(20);
            }
        });

        // (1) A report holds the yearly partition: the swap cannot lock it and retries for MERGE_LOCK_TIMEOUT (3 s).
        IlmRunResult held;
        await using (var report = new NpgsqlConnection(db.ConnectionString))
        {
            await report.OpenAsync();
            await using var tx = await report.BeginTransactionAsync();
            await using (var hold = new NpgsqlCommand("LOCK TABLE public.p_2023 IN ACCESS SHARE MODE", report, tx))
                await hold.ExecuteNonQueryAsync();
            held = await new IlmService(hook: pid).RunAsync(Request(db, lockTimeoutSeconds: 3));
            await tx.RollbackAsync();
        }
        var heldMerge = Assert.Single(held.Outcomes, o => o.Action is MergeAction);
        Assert.Equal((IlmStatus.Failed, ErrorKind.LockTimeout), (heldMerge.Status, heldMerge.ErrorKind));
        Assert.True(heldMerge.Duration >= TimeSpan.FromSeconds(2.5), $"the merge gave up after {heldMerge.Duration}");
        var longestWhileHeld = longest;

        // (2) Nothing in the way: the merge copies the yearly partition and the month, then swaps.
        var merged = await new IlmService(hook: pid).RunAsync(Request(db));
        stop.Cancel();
        await Task.WhenAll(reader, writer, monitor);

        Assert.Equal(IlmStatus.Success, Assert.Single(merged.Outcomes, o => o.Action is MergeAction).Status);
        Assert.True(reads > 20 && writes > 20, $"{reads} reads, {writes} writes");
        output.WriteLine($"longest lock wait behind the merge: {longestWhileHeld.TotalMilliseconds:N0} ms while held, " +
            $"{longest.TotalMilliseconds:N0} ms overall");
        Assert.True(longest < TimeSpan.FromSeconds(1), $"a backend waited {longest.TotalMilliseconds:N0} ms on a lock of the merge");
        Assert.Equal(months.Values.Sum(m => m.Item1) + 300000 + writes, await db.TotalRowsAsync());
    }

    /// <summary>Remembers the runner's backend pid (before its run lock).</summary>
    private sealed class PidHook : IIlmStatementHook
    {
        public volatile int Pid;

        public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (point.Phase != "run-lock") return;
            await using var q = point.Connection.CreateCommand();
            q.CommandText = "SELECT pg_backend_pid()";
            Pid = (int)(await q.ExecuteScalarAsync(ct))!;
        }
    }
}
