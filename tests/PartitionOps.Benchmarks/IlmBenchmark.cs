using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Demo;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;

/// <summary>
/// ILM merge benchmark (`-- ilm`): one throwaway PostgreSQL with three real tablespaces; per month size, a template
/// database with a range-partitioned <c>sales</c> table (primary key and a date index): the yearly p_2023 (January to
/// October, WARM, <c>--head-months</c> months' worth of rows), November and December 2023 as HOT months, and December
/// 2025, a HOT month nobody merges. Each method (the policy's <c>merge_method</c>) and strategy runs on its own copy of
/// the template, side by side in one run:
/// incremental merges November as of 2025-12-01 and December as of 2026-01-01 (two merges); year_complete merges both as
/// of 2026-01-01 (one). Measured while the merges run: the longest wait of a reader of December 2025 (through the parent
/// table, every 50 ms), the longest AccessExclusiveLock the merge's session held on the table or a partition (pg_locks
/// sampled every 15 ms: an approximation to the sampling interval), rows written per aged row (n_tup_ins of every user
/// table, control tables left out, over the merged months' rows) and the merge time.
/// </summary>
static class IlmBenchmark
{
    private const string MergeApplication = "partitionops-ilm-bench-merge";
    private static readonly string[] Methods = ["rebuild", "in_place"];
    private static readonly string[] Strategies = ["incremental", "year_complete"];

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = Option(args, "--sizes")?.Split(',').Select(s => long.Parse(s.Replace("_", ""), CultureInfo.InvariantCulture)).ToList()
                    ?? [100_000, 1_000_000, 5_000_000];
        var headMonths = int.Parse(Option(args, "--head-months") ?? "2", CultureInfo.InvariantCulture);
        // The year's life under year_complete: 12 runs, one as each month of 2023 comes due (0 = not run).
        var yearRows = long.Parse((Option(args, "--year-rows") ?? "100000").Replace("_", ""), CultureInfo.InvariantCulture);
        await using var cluster = await ThrowawayPostgres.StartAsync(
            settings: new Dictionary<string, string> { ["shared_buffers"] = "1GB" });
        var tablespaces = new Dictionary<string, string>();
        foreach (var tier in new[] { "hot", "warm", "cold" })
        {
            var folder = await cluster.CreateServerOwnedDirectoryAsync("tbs_" + tier);
            await ExecuteAsync(cluster.ConnectionString(), $"CREATE TABLESPACE bench_{tier} LOCATION '{folder}'");
            tablespaces[tier] = "bench_" + tier;
        }
        var folderForPolicies = Directory.CreateTempSubdirectory("ilm-bench").FullName;
        var shown = string.Join(", ", sizes.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)));
        Console.WriteLine($"PostgreSQL at {cluster.Root}; months of {shown} rows; " +
                          $"p_2023 holds {headMonths} months' worth of rows");

        var results = new List<Result>();
        foreach (var size in sizes)
        {
            var template = await TemplateAsync(cluster, size, headMonths);
            // Warm-up, not counted: the first run in a process pays .NET's JIT and the driver's start-up.
            if (size == sizes[0])
                await MeasureAsync(cluster, template, size, (headMonths + 3) * size, "in_place", "incremental", folderForPolicies,
                    "warm-up (not counted)");
            foreach (var strategy in Strategies)
                foreach (var method in Methods)
                    results.Add(await MeasureAsync(cluster, template, size, (headMonths + 3) * size, method, strategy, folderForPolicies));
        }
        if (yearRows > 0)
        {
            var template = await YearTemplateAsync(cluster, yearRows);
            foreach (var moveBeforeMerge in new[] { true, false })
                foreach (var method in Methods)
                    results.Add(await MeasureAsync(cluster, template, yearRows, 14 * yearRows, method, "year_complete", folderForPolicies,
                        year: new YearRun(moveBeforeMerge)));
        }
        Directory.Delete(folderForPolicies, recursive: true);

        Console.WriteLine();
        Console.WriteLine($"{"month rows",11} {"strategy",-14} {"method",-9} {"merges",6} {"reader max wait ms",18} " +
                          $"{"longest excl. lock ms",21} " +
                          $"{"rows written/aged row",21} {"merge s",8} {"method applied",-14}");
        foreach (var r in results)
            Console.WriteLine($"{r.MonthRows,11:N0} {r.Strategy,-14} {r.Method,-9} {r.Merges,6} {r.ReaderMaxWaitMs,18:0} " +
                              $"{r.LongestLockMs,21:0} " +
                              $"{r.RowsWrittenPerAgedRow,21:0.00} {r.MergeSeconds,8:0.00} {r.Applied,-14}");
        Console.WriteLine();
        Console.WriteLine("reader: SELECT through the parent of one row of December 2025 every 50 ms; " +
                          "lock: pg_locks every 15 ms (+-15 ms);");
        Console.WriteLine("rows written: rows inserted (pg_stat_database, control tables left out) plus tables copied by " +
                          "SET TABLESPACE, over the aged rows.");
        Console.WriteLine("method applied: what the merge statements show " +
                          "(a build without merge_method runs in_place whatever the policy says).");
        return 0;
    }

    /// <summary>
    /// The year's life: p_2022 complete (WARM), the 12 months of 2023 HOT; runs as of 2025-02-01 .. 2026-01-01, one as each
    /// month comes due. January starts p_2023 (a rename); the year merges at the last run. Every write counts: the moves
    /// of the months as they come due (unless move_before_merge is false) and the merge.
    /// </summary>
    private sealed record YearRun(bool MoveBeforeMerge);

    private static async Task<string> YearTemplateAsync(ThrowawayPostgres cluster, long monthRows)
    {
        var name = $"ilm_year_tpl_{monthRows}";
        await ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {name}");
        var cs = cluster.ConnectionString(name);
        var months = string.Join("\n", Enumerable.Range(1, 12).Select(m =>
            $"CREATE TABLE public.p_2023_{m:D2} PARTITION OF public.sales FOR VALUES FROM ('2023-{m:D2}-01') TO " +
            $"('{new DateTime(2023, m, 1).AddMonths(1):yyyy-MM-dd}') TABLESPACE bench_hot;"));
        await ExecuteAsync(cs, $"""
            CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL, amount numeric(12,2), note text,
                                       PRIMARY KEY (id, sale_date)) PARTITION BY RANGE (sale_date);
            CREATE INDEX sales_sale_date ON public.sales (sale_date);
            CREATE TABLE public.p_2022 PARTITION OF public.sales FOR VALUES FROM ('2022-01-01') TO ('2023-01-01') TABLESPACE bench_warm;
            {months}
            CREATE TABLE public.p_2025_12 PARTITION OF public.sales FOR VALUES FROM ('2025-12-01') TO ('2026-01-01') TABLESPACE bench_hot;
            INSERT INTO public.sales (id, sale_date, amount, note)
            SELECT n, DATE '2022-01-01' + (n % 365)::int, (n % 1000) / 10.0, 'row ' || n FROM generate_series(1, {monthRows}) n;
            INSERT INTO public.sales (id, sale_date, amount, note)
            SELECT 100000000 + n, DATE '2023-01-01' + (n % 365)::int, (n % 1000) / 10.0, 'row ' || n
            FROM generate_series(1, {12 * monthRows}) n;
            INSERT INTO public.sales (id, sale_date, amount, note)
            SELECT 300000000 + n, DATE '2025-12-01' + (n % 31)::int, (n % 1000) / 10.0, 'row ' || n FROM generate_series(1, {monthRows}) n;
            """);
        await ExecuteAsync(cs, "VACUUM ANALYZE");
        NpgsqlConnection.ClearAllPools();
        Console.WriteLine($"  template {name}: p_2022, 12 months of 2023 ({12 * monthRows:N0} rows), December 2025");
        return name;
    }

    private sealed record Result(long MonthRows, string Strategy, string Method, int Merges, double ReaderMaxWaitMs, double LongestLockMs,
        double RowsWrittenPerAgedRow, double MergeSeconds, string Applied);

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static async Task ExecuteAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await new NpgsqlCommand(sql, c) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
    }

    private static async Task<string> TemplateAsync(ThrowawayPostgres cluster, long monthRows, int headMonths)
    {
        var name = $"ilm_tpl_{monthRows}";
        await ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {name}");
        var cs = cluster.ConnectionString(name);
        var watch = Stopwatch.StartNew();
        await ExecuteAsync(cs, """
            CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL, amount numeric(12,2), note text,
                                       PRIMARY KEY (id, sale_date)) PARTITION BY RANGE (sale_date);
            CREATE INDEX sales_sale_date ON public.sales (sale_date);
            CREATE TABLE public.p_2023 PARTITION OF public.sales FOR VALUES FROM ('2023-01-01') TO ('2023-11-01') TABLESPACE bench_warm;
            CREATE TABLE public.p_2023_11 PARTITION OF public.sales FOR VALUES FROM ('2023-11-01') TO ('2023-12-01') TABLESPACE bench_hot;
            CREATE TABLE public.p_2023_12 PARTITION OF public.sales FOR VALUES FROM ('2023-12-01') TO ('2024-01-01') TABLESPACE bench_hot;
            CREATE TABLE public.p_2025_12 PARTITION OF public.sales FOR VALUES FROM ('2025-12-01') TO ('2026-01-01') TABLESPACE bench_hot;
            """);
        // Rows spread evenly over each partition's days; ids unique across the table.
        async Task FillAsync(string from, int days, long rows, long firstId) => await ExecuteAsync(cs, $"""
            INSERT INTO public.sales (id, sale_date, amount, note)
            SELECT {firstId} + n, DATE '{from}' + (n % {days})::int, (n % 1000) / 10.0, 'row ' || n
            FROM generate_series(1, {rows}) n
            """);
        await FillAsync("2023-01-01", 304, headMonths * monthRows, 0);
        await FillAsync("2023-11-01", 30, monthRows, 100_000_000);
        await FillAsync("2023-12-01", 31, monthRows, 200_000_000);
        await FillAsync("2025-12-01", 31, monthRows, 300_000_000);
        await ExecuteAsync(cs, "VACUUM ANALYZE");
        NpgsqlConnection.ClearAllPools(); // a template must have no open sessions to be copied
        Console.WriteLine($"  template {name}: {(headMonths + 3) * monthRows:N0} rows in {watch.Elapsed.TotalSeconds:0}s");
        return name;
    }

    private static string PolicyFile(string folder, string method, string strategy, bool moveBeforeMerge = true)
    {
        var path = Path.Combine(folder, $"policy-{method}-{strategy}-{moveBeforeMerge}.json");
        var move = moveBeforeMerge ? "true" : "false";
        File.WriteAllText(path, $$"""
            { "tier_config": { "enabled": true, "auto_merge": true, "strategy": "{{strategy}}", "merge_method": "{{method}}",
                "move_before_merge": {{move}},
                "hot":  { "interval": "MONTHLY", "tablespace": "bench_hot", "compression": "NONE", "age_months": 24 },
                "warm": { "interval": "YEARLY", "tablespace": "bench_warm", "compression": "NONE", "age_months": 60,
                          "merge_monthly": true },
                "cold": { "interval": "YEARLY", "tablespace": "bench_cold", "compression": "NONE", "merge_monthly": true } } }
            """);
        return path;
    }

    private static async Task<Result> MeasureAsync(ThrowawayPostgres cluster, string template, long monthRows, long totalRows,
        string method,
        string strategy, string policyFolder, string? label = null, YearRun? year = null)
    {
        var db = $"ilm_run_{Guid.NewGuid():N}"[..24];
        await ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {db} TEMPLATE {template} STRATEGY FILE_COPY");
        var cs = cluster.ConnectionString(db);
        await ExecuteAsync(cs, "CHECKPOINT");
        var policy = IlmPolicy.Load(PolicyFile(policyFolder, method, strategy, year?.MoveBeforeMerge ?? true));
        var mergeTarget = new DatabaseTarget(PostgreSqlProvider.Instance,
            new NpgsqlConnectionStringBuilder(cs) { ApplicationName = MergeApplication, CommandTimeout = 0 }.ConnectionString);
        string[] asOfs = year is not null ? Enumerable.Range(0, 12).Select(i => new DateTime(2025, 2, 1).AddMonths(i).ToString("yyyy-MM-dd",
                CultureInfo.InvariantCulture)).ToArray()
            : strategy == "incremental" ? ["2025-12-01", "2026-01-01"] : ["2026-01-01"];

        var insertsBefore = await InsertsAsync(cs);
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() => ReaderAsync(cs, stop.Token));
        var sampler = Task.Run(() => LockSamplerAsync(cs, stop.Token));
        var merges = 0;
        long aged = 0;
        var applied = new HashSet<string>();
        var watch = Stopwatch.StartNew();
        long notInserted = 0;
        foreach (var asOf in asOfs)
        {
            // SET TABLESPACE (in_place's moves, and its relocation of the yearly partition) copies a table without inserting
            // rows: counted here from the table's rows before the run.
            watch.Stop(); // not merge time
            var before = await PartitionRowsAsync(cs);
            watch.Start();
            var run = await new IlmService().RunAsync(new IlmRunRequest(mergeTarget, "sales")
            {
                Policy = policy,
                AsOf = DateOnly.Parse(asOf, CultureInfo.InvariantCulture),
            });
            foreach (var o in run.Outcomes)
            {
                foreach (var s in o.Statements)
                    if (System.Text.RegularExpressions.Regex.Match(s.Text, "^ALTER TABLE \"public\"\\.\"([^\"]+)\" SET TABLESPACE")
                        is { Success: true } m)
                        notInserted += before.GetValueOrDefault(m.Groups[1].Value);
                if (o.Status != IlmStatus.Success)
                    throw new InvalidOperationException($"{method}/{strategy} as of {asOf}: {o.Action.Describe()}: {o.Error}");
                if (o.Action is not PartitionOps.Engine.Ilm.Planning.MergeAction) continue;
                merges++;
                aged += o.RowsMerged ?? 0;
                // in_place copies the months into the yearly partition itself; rebuild builds a new one beside it.
                applied.Add(o.Statements.Any(s => s.Text.StartsWith("INSERT INTO \"public\".\"p_2023\" ", StringComparison.Ordinal))
                    ? "in_place" : "rebuild");
            }
        }
        watch.Stop();
        // Let the readers see a few polls after the last merge, then stop them.
        await Task.Delay(200);
        await stop.CancelAsync();
        var readerMax = await reader;
        var lockMax = await sampler;
        NpgsqlConnection.ClearAllPools(); // sessions that end flush their statistics
        await Task.Delay(500);
        var written = await InsertsAsync(cs) - insertsBefore + notInserted;
        // Nothing lost: every row still there, and the yearly partition holds its own and the merged months' rows.
        var rows = await ScalarAsync(cs, "SELECT count(*) FROM public.sales");
        var yearly = await ScalarAsync(cs, "SELECT count(*) FROM public.p_2023");
        void Expect(long actual, long expected, string what)
        {
            if (actual != expected) throw new InvalidOperationException($"{method}/{strategy}: {what} {actual:N0}, {expected:N0} expected");
        }
        Expect(rows, totalRows, "rows in the table:");
        if (year is null)
        {
            Expect(aged, 2 * monthRows, "rows merged:");
            Expect(yearly, totalRows - monthRows, "rows in p_2023:");
        }
        else
        {
            // All of 2023 aged, and all of it in p_2023 (in WARM) after the last run.
            aged = 12 * monthRows;
            Expect(yearly, aged, "rows in p_2023:");
            Expect(await ScalarAsync(cs, "SELECT count(*) FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace " +
                "WHERE c.relname = 'p_2023' AND t.spcname = 'bench_warm'"), 1, "p_2023 in bench_warm:");
        }
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(cluster.ConnectionString(), $"DROP DATABASE {db} WITH (FORCE)");
        strategy = year is null ? strategy : year.MoveBeforeMerge ? "year, moved" : "year, waits";
        Console.WriteLine($"  {label ?? $"{monthRows:N0} {strategy} {method}"}: {merges} merge(s) of {aged:N0} rows " +
                          $"in {watch.Elapsed.TotalSeconds:0.00}s; " +
                          $"p_2023 now {yearly:N0} rows, table {rows:N0}");
        return new Result(monthRows, strategy, method, merges, readerMax, lockMax, aged == 0 ? double.NaN : (double)written / aged,
            watch.Elapsed.TotalSeconds, string.Join("+", applied));
    }

    private static async Task<long> ScalarAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        return Convert.ToInt64(await new NpgsqlCommand(sql, c) { CommandTimeout = 0 }.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Rows inserted in the database so far, the control schema's audit rows left out. pg_stat_database keeps counting
    /// the inserts into tables dropped since (a rebuilt partition merged again, a moved month merged later), which
    /// pg_stat_user_tables forgets with the table. It also counts the catalog rows of the DDL (tens per run: noise).
    /// </summary>
    private static Task<long> InsertsAsync(string cs) =>
        ScalarAsync(cs, "SELECT (SELECT tup_inserted FROM pg_stat_database WHERE datname = current_database()) " +
                        "- (SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables WHERE schemaname = 'partitionops')");

    private static async Task<Dictionary<string, long>> PartitionRowsAsync(string cs)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT c.relname, count(*) FROM public.sales s JOIN pg_class c ON c.oid = s.tableoid GROUP BY 1", c) { CommandTimeout = 0 };
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync()) rows[reader.GetString(0)] = reader.GetInt64(1);
        return rows;
    }

    /// <summary>Reads one row of December 2025 through the parent every 50 ms; returns the longest read, ms.</summary>
    private static async Task<double> ReaderAsync(string cs, CancellationToken stop)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync(CancellationToken.None);
        var longest = 0.0;
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            var watch = Stopwatch.StartNew();
            await using (var read = new NpgsqlCommand(
                "SELECT amount FROM public.sales WHERE sale_date = DATE '2025-12-01' + @d AND id = @id", c) { CommandTimeout = 0 })
            {
                n++;
                read.Parameters.AddWithValue("d", n % 31);
                read.Parameters.AddWithValue("id", 300_000_000L + n);
                await read.ExecuteScalarAsync(CancellationToken.None);
            }
            longest = Math.Max(longest, watch.Elapsed.TotalMilliseconds);
            try { await Task.Delay(50, stop); } catch (OperationCanceledException) { break; }
        }
        return longest;
    }

    /// <summary>
    /// Samples pg_locks every 15 ms for an AccessExclusiveLock granted to the merge's session on the table or one of its
    /// partitions; returns the longest run of consecutive samples that saw one, ms (first seen to last seen, plus one interval).
    /// </summary>
    private static async Task<double> LockSamplerAsync(string cs, CancellationToken stop)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync(CancellationToken.None);
        var clock = Stopwatch.StartNew();
        double? heldSince = null;
        var lastSeen = 0.0;
        var longest = 0.0;
        while (!stop.IsCancellationRequested)
        {
            await using (var sample = new NpgsqlCommand($"""
                SELECT EXISTS (
                    SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE a.application_name = '{MergeApplication}' AND l.locktype = 'relation' AND l.granted
                      AND l.mode = 'AccessExclusiveLock' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND (l.relation = 'public.sales'::regclass
                           OR l.relation IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'public.sales'::regclass)))
                """, c))
            {
                var held = (bool)(await sample.ExecuteScalarAsync(CancellationToken.None))!;
                var now = clock.Elapsed.TotalMilliseconds;
                if (held)
                {
                    heldSince ??= now;
                    lastSeen = now;
                    longest = Math.Max(longest, lastSeen - heldSince.Value + 15);
                }
                else heldSince = null;
            }
            try { await Task.Delay(15, stop); } catch (OperationCanceledException) { break; }
        }
        return longest;
    }
}
