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
/// of 2026-01-01 (one). Reference variants run the same merges on their own copies: the spec's naive way ported by hand
/// (one transaction: LOCK, DETACH, INSERT ... SELECT, DROP, ATTACH that scans), one big statement (a DELETE ... RETURNING
/// feeding an INSERT into the detached yearly partition: PostgreSQL 15 has no MERGE PARTITIONS) and the in-server floor
/// (the same rows copied into a fresh table with the same indexes: no locks, no detach or attach).
/// Measured while the merges run: the longest wait of a reader of December 2025 (through the parent table, every 50 ms);
/// the longest waits of a writer that inserts into December 2025 every 50 ms (a HOT month nobody merges) and, in the
/// "merged" writers' runs, of a writer that inserts or updates a row of the months being merged every 50 ms; the longest
/// AccessExclusiveLock the merge's session held on the table or a partition (pg_locks sampled every 15 ms: an
/// approximation to the sampling interval); rows written per aged row (tup_inserted of the database, control tables and
/// the writers' own rows left out, over the merged months' rows) and the merge time.
/// </summary>
static class IlmBenchmark
{
    private const string MergeApplication = "partitionops-ilm-bench-merge";
    private static readonly string[] AllMethods = ["rebuild", "in_place"];
    private static readonly string[] AllVariants = [Naive, OneStatement, Floor];
    private static readonly string[] AllScenarios = ["incremental", "year_complete", YearMoved, YearWaits];
    private static readonly string[] AllWriters = ["hot", "merged"];
    private const string Naive = "naive";
    private const string OneStatement = "one_statement";
    private const string Floor = "floor";
    private const string YearMoved = "year_moved";
    private const string YearWaits = "year_waits";
    private const long HotWriterFirstId = 900_000_000;
    private const long MergedWriterFirstId = 800_000_000;
    private const string UpdatedNote = "bench-updated";

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = Option(args, "--sizes")?.Split(',')
                        .Select(s => long.Parse(s.Replace("_", ""), CultureInfo.InvariantCulture)).ToList()
                    ?? [100_000, 1_000_000, 5_000_000];
        var headMonths = int.Parse(Option(args, "--head-months") ?? "2", CultureInfo.InvariantCulture);
        // The year's life under year_complete: 12 runs, one as each month of 2023 comes due (0 = not run).
        var yearRows = long.Parse((Option(args, "--year-rows") ?? "100000").Replace("_", ""), CultureInfo.InvariantCulture);
        string[] methods, variants, scenarios, writers;
        try
        {
            methods = Filter(args, "--methods", AllMethods);
            variants = Filter(args, "--variants", AllVariants);
            scenarios = Filter(args, "--scenarios", AllScenarios);
            writers = Filter(args, "--writers", AllWriters);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        var total = Stopwatch.StartNew();
        Log("starting a throwaway PostgreSQL");
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
        var version = await ScalarTextAsync(cluster.ConnectionString(), "SHOW server_version");
        Console.WriteLine($"PostgreSQL {version} at {cluster.Root}; months of {shown} rows; " +
                          $"p_2023 holds {headMonths} months' worth of rows");
        Console.WriteLine($"methods {Join(methods)}; variants {Join(variants)}; scenarios {Join(scenarios)}; " +
                          $"writers {Join(writers)}; year's life months of {yearRows:N0} rows");
        var mergePartitions = await MergePartitionsProbeAsync(cluster.ConnectionString());
        Console.WriteLine($"one big statement: ALTER TABLE ... MERGE PARTITIONS on this server: {mergePartitions}");

        var results = new List<Result>();
        var monthScenarios = scenarios.Where(s => s is "incremental" or "year_complete").ToList();
        var warmedUp = false;
        foreach (var size in sizes)
        {
            if (monthScenarios.Count == 0) break;
            var sizeWatch = Stopwatch.StartNew();
            var template = await TemplateAsync(cluster, size, headMonths);
            var setup = new Setup(template, size, TotalRows: (headMonths + 3) * size, YearlyRows: (headMonths + 2) * size,
                HeadRows: headMonths * size, AgedRows: 2 * size, Year: null);
            // Warm-up, not counted: the first run in a process pays .NET's JIT and the driver's start-up.
            if (!warmedUp)
            {
                await MeasureAsync(cluster, setup, "incremental", "hot", "in_place", false,
                    (cs, run) => EngineMergesAsync(cs, run, "in_place", "incremental", folderForPolicies, null),
                    "warm-up (not counted)");
                warmedUp = true;
            }
            foreach (var strategy in monthScenarios)
                foreach (var writer in writers)
                {
                    foreach (var method in methods)
                        results.Add(await MeasureAsync(cluster, setup, strategy, writer, method, false,
                            (cs, run) => EngineMergesAsync(cs, run, method, strategy, folderForPolicies, null)));
                    foreach (var variant in variants)
                        results.Add(await MeasureAsync(cluster, setup, strategy, writer, variant, true,
                            (cs, run) => ReferenceAsync(cs, run, variant, strategy)));
                }
            await DropDatabaseAsync(cluster, template);
            Log($"months of {size:N0} rows: template and all runs in {sizeWatch.Elapsed.TotalMinutes:0.0} min");
        }
        var yearScenarios = scenarios.Where(s => s is YearMoved or YearWaits).ToList();
        if (yearRows > 0 && yearScenarios.Count > 0)
        {
            var yearWatch = Stopwatch.StartNew();
            var template = await YearTemplateAsync(cluster, yearRows);
            var setup = new Setup(template, yearRows, TotalRows: 14 * yearRows, YearlyRows: 12 * yearRows, HeadRows: 0,
                AgedRows: 12 * yearRows, Year: true);
            if (!warmedUp)
                await MeasureAsync(cluster, setup, YearWaits, "hot", "in_place", false,
                    (cs, run) => EngineMergesAsync(cs, run, "in_place", "year_complete", folderForPolicies, new YearRun(false)),
                    "warm-up (not counted)");
            foreach (var scenario in yearScenarios)
                foreach (var writer in writers)
                {
                    var year = new YearRun(scenario == YearMoved);
                    foreach (var method in methods)
                        results.Add(await MeasureAsync(cluster, setup, scenario, writer, method, false,
                            (cs, run) => EngineMergesAsync(cs, run, method, "year_complete", folderForPolicies, year)));
                    // The naive way and one statement are merges of the month scenarios; the floor copies the year once.
                    if (variants.Contains(Floor))
                        results.Add(await MeasureAsync(cluster, setup, scenario, writer, Floor, true,
                            (cs, run) => ReferenceAsync(cs, run, Floor, "year")));
                }
            await DropDatabaseAsync(cluster, template);
            Log($"year's life, months of {yearRows:N0} rows: template and all runs in {yearWatch.Elapsed.TotalMinutes:0.0} min");
        }
        Directory.Delete(folderForPolicies, recursive: true);
        Log($"all runs done in {total.Elapsed.TotalMinutes:0.0} min");
        PrintResults(results, mergePartitions);
        return 0;
    }

    private static void PrintResults(List<Result> results, string mergePartitions)
    {
        Console.WriteLine();
        Console.WriteLine($"{"month rows",11} {"scenario",-13} {"writers",-7} {"method",-13} {"merges",6} {"reader max ms",13} " +
                          $"{"hot wr. ms",10} {"merged wr. ms",13} {"excl. lock ms",13} {"written/aged",12} {"merge s",8} " +
                          $"{"applied / result",-16}");
        foreach (var r in results)
            Console.WriteLine($"{r.MonthRows,11:N0} {r.Scenario,-13} {r.Writers,-7} {r.Name,-13} {r.Merges,6} " +
                              $"{r.ReaderMaxWaitMs,13:0} {r.HotWriterMaxWaitMs,10:0} " +
                              $"{(r.MergedWriterMaxWaitMs is { } m ? m.ToString("0", CultureInfo.InvariantCulture) : "-"),13} " +
                              $"{r.LongestLockMs,13:0} {r.RowsWrittenPerAgedRow,12:0.00} {r.MergeSeconds,8:0.00} " +
                              $"{(r.Failure is null ? r.Applied : "did not complete: " + Shorten(r.Failure, 160))}");

        Console.WriteLine();
        Console.WriteLine("merge time of each method over each reference variant's (same data, same run; n/a: not run or " +
                          "did not complete):");
        Console.WriteLine($"{"month rows",11} {"scenario",-13} {"writers",-7} {"method",-9} {"/ naive",9} {"/ one stmt",10} " +
                          $"{"/ floor",9}");
        foreach (var r in results.Where(r => !r.IsReference))
        {
            string Ratio(string variant)
            {
                var reference = results.FirstOrDefault(x => x.IsReference && x.Name == variant && x.MonthRows == r.MonthRows
                                                           && x.Scenario == r.Scenario && x.Writers == r.Writers);
                return r.Failure is null && reference is { Failure: null, MergeSeconds: > 0 }
                    ? (r.MergeSeconds / reference.MergeSeconds).ToString("0.00", CultureInfo.InvariantCulture) + "x"
                    : "n/a";
            }
            Console.WriteLine($"{r.MonthRows,11:N0} {r.Scenario,-13} {r.Writers,-7} {r.Name,-9} {Ratio(Naive),9} " +
                              $"{Ratio(OneStatement),10} {Ratio(Floor),9}");
        }

        Console.WriteLine();
        var slowHot = results.Where(r => r.HotWriterMaxWaitMs >= 1000).ToList();
        Console.WriteLine(slowHot.Count == 0
            ? "hot writer (a partition nobody merges): never waited 1 s or more."
            : "hot writer (a partition nobody merges) waited 1 s or more in: " + string.Join("; ", slowHot.Select(r =>
                $"{r.MonthRows:N0} {r.Scenario} {r.Writers} {r.Name} ({r.HotWriterMaxWaitMs:0} ms)")));
        Console.WriteLine("reader: SELECT through the parent of one row of December 2025 every 50 ms; " +
                          "lock: pg_locks every 15 ms (+-15 ms);");
        Console.WriteLine("writers: hot = an INSERT into December 2025 (merged by nobody) every 50 ms, in every run; merged = " +
                          "also an INSERT or an UPDATE");
        Console.WriteLine("  of a row of November or December 2023 (the months merged) every 50 ms; longest statement, ms.");
        Console.WriteLine("rows written: rows inserted (pg_stat_database; control tables and the writers' rows left out) " +
                          "plus tables copied by");
        Console.WriteLine("  SET TABLESPACE, over the aged rows (one statement's DELETE and the floor's copy count as for the " +
                          "others: inserts only).");
        Console.WriteLine("method applied: what the merge statements show " +
                          "(a build without merge_method runs in_place whatever the policy says).");
        Console.WriteLine("naive: the spec's way ported by hand: one transaction, LOCK the parent, DETACH the months and the " +
                          "yearly partition,");
        Console.WriteLine("  INSERT INTO the yearly SELECT * FROM each month, DROP the months, ATTACH the yearly partition " +
                          "wider (no CHECK: ATTACH scans).");
        Console.WriteLine("one_statement: PostgreSQL 15 has no MERGE PARTITIONS (" + mergePartitions + "); the closest single " +
                          "statement: the yearly");
        Console.WriteLine("  partition DETACHed, WITH moved AS (DELETE FROM sales WHERE <the months' range> RETURNING *) " +
                          "INSERT INTO it SELECT * FROM moved,");
        Console.WriteLine("  the emptied months DETACHed and DROPped, the yearly partition ATTACHed wider: one transaction.");
        Console.WriteLine("floor: CREATE TABLE (LIKE sales INCLUDING INDEXES) in WARM + one INSERT ... SELECT of the same rows " +
                          "per merge: no lock, no");
        Console.WriteLine("  detach or attach, nothing dropped: the cost no method can beat. The year's life runs only the floor " +
                          "(the year's rows once).");
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 3)] + "...";

    private static string Join(string[] values) => values.Length == 0 ? "none" : string.Join(",", values);

    private static void Log(string message) =>
        Console.WriteLine($"[{DateTime.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] {message}");

    /// <summary>A comma-separated subset of <paramref name="all"/> ("none" for none); all when the option is absent.</summary>
    private static string[] Filter(string[] args, string name, string[] all)
    {
        var value = Option(args, name);
        if (value is null) return all;
        if (value == "none") return [];
        var chosen = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = chosen.Where(c => !all.Contains(c)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"{name}: unknown {string.Join(", ", unknown)}; one or more of {string.Join(",", all)}, " +
                                        "or none");
        return all.Where(chosen.Contains).ToArray();
    }

    /// <summary>
    /// What the server says to ALTER TABLE ... MERGE PARTITIONS (PostgreSQL 15: a syntax error), in a rolled-back transaction.
    /// </summary>
    private static async Task<string> MergePartitionsProbeAsync(string cs)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        await using var tx = await c.BeginTransactionAsync();
        try
        {
            await new NpgsqlCommand("ALTER TABLE bench_probe MERGE PARTITIONS (bench_probe_1, bench_probe_2) INTO bench_probe_3", c,
                tx).ExecuteNonQueryAsync();
            return "accepted";
        }
        catch (PostgresException e)
        {
            return $"{e.SqlState} {e.MessageText}";
        }
    }

    /// <summary>
    /// The year's life: p_2022 complete (WARM), the 12 months of 2023 HOT; runs as of 2025-02-01 .. 2026-01-01, one as each
    /// month comes due. January starts p_2023 (a rename); the year merges at the last run. Every write counts: the moves
    /// of the months as they come due (unless move_before_merge is false) and the merge.
    /// </summary>
    private sealed record YearRun(bool MoveBeforeMerge);

    /// <summary>A template and what its runs must end with (before the writers' rows).</summary>
    private sealed record Setup(string Template, long MonthRows, long TotalRows, long YearlyRows, long HeadRows, long AgedRows,
        bool? Year);

    private static async Task<string> YearTemplateAsync(ThrowawayPostgres cluster, long monthRows)
    {
        var name = $"ilm_year_tpl_{monthRows}";
        Log($"template {name}: building");
        var watch = Stopwatch.StartNew();
        await ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {name} STRATEGY FILE_COPY");
        var cs = cluster.ConnectionString(name);
        var months = string.Join("\n", Enumerable.Range(1, 12).Select(m =>
            $"CREATE TABLE public.p_2023_{m:D2} PARTITION OF public.sales FOR VALUES FROM ('2023-{m:D2}-01') TO " +
            $"('{new DateTime(2023, m, 1).AddMonths(1):yyyy-MM-dd}') TABLESPACE bench_hot;"));
        await ExecuteAsync(cs, $"""
            CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL, amount numeric(12,2), note text)
                PARTITION BY RANGE (sale_date);
            CREATE TABLE public.p_2022 PARTITION OF public.sales FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')
                TABLESPACE bench_warm;
            {months}
            CREATE TABLE public.p_2025_12 PARTITION OF public.sales FOR VALUES FROM ('2025-12-01') TO ('2026-01-01')
                TABLESPACE bench_hot;
            """);
        await FillAsync(cs, [
            ("2022-01-01", 365, monthRows, 0),
            ("2023-01-01", 365, 12 * monthRows, 100_000_000),
            ("2025-12-01", 31, monthRows, 300_000_000),
        ]);
        await IndexAndVacuumAsync(cs);
        Log($"template {name}: p_2022, 12 months of 2023 ({12 * monthRows:N0} rows), December 2025 in " +
            $"{watch.Elapsed.TotalSeconds:0}s");
        return name;
    }

    private sealed record Result(long MonthRows, string Scenario, string Writers, string Name, bool IsReference, int Merges,
        double ReaderMaxWaitMs, double HotWriterMaxWaitMs, double? MergedWriterMaxWaitMs, double LongestLockMs,
        double RowsWrittenPerAgedRow, double MergeSeconds, string Applied, string? Failure);

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

    private static async Task DropDatabaseAsync(ThrowawayPostgres cluster, string name)
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(cluster.ConnectionString(), $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    /// <summary>
    /// Rows spread evenly over each range's days, ids unique across the table: one INSERT ... SELECT over generate_series
    /// into the table without its indexes (built afterwards, sorted: far cheaper than row by row at 5M-row months).
    /// </summary>
    private static Task FillAsync(string cs, (string From, int Days, long Rows, long FirstId)[] ranges) =>
        ExecuteAsync(cs, $"""
            INSERT INTO public.sales (id, sale_date, amount, note)
            SELECT r.first_id + n, r.first_day + (n % r.days)::int, (n % 1000) / 10.0, 'row ' || n
            FROM (VALUES {string.Join(", ", ranges.Select(r => $"(DATE '{r.From}', {r.Days}, {r.Rows}::bigint, {r.FirstId}::bigint)"))})
                AS r(first_day, days, row_count, first_id)
            CROSS JOIN LATERAL generate_series(1::bigint, r.row_count) n
            """);

    /// <summary>
    /// The primary key and the date index (the names PARTITION OF a table that has them would give), then VACUUM ANALYZE.
    /// </summary>
    private static async Task IndexAndVacuumAsync(string cs)
    {
        await ExecuteAsync(cs, """
            SET maintenance_work_mem = '512MB';
            ALTER TABLE public.sales ADD PRIMARY KEY (id, sale_date);
            CREATE INDEX sales_sale_date ON public.sales (sale_date);
            """);
        await ExecuteAsync(cs, "VACUUM ANALYZE");
        NpgsqlConnection.ClearAllPools(); // a template must have no open sessions to be copied
    }

    private static async Task<string> TemplateAsync(ThrowawayPostgres cluster, long monthRows, int headMonths)
    {
        var name = $"ilm_tpl_{monthRows}";
        Log($"template {name}: building ({(headMonths + 3) * monthRows:N0} rows)");
        await ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {name} STRATEGY FILE_COPY");
        var cs = cluster.ConnectionString(name);
        var watch = Stopwatch.StartNew();
        await ExecuteAsync(cs, """
            CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL, amount numeric(12,2), note text)
                PARTITION BY RANGE (sale_date);
            CREATE TABLE public.p_2023 PARTITION OF public.sales FOR VALUES FROM ('2023-01-01') TO ('2023-11-01')
                TABLESPACE bench_warm;
            CREATE TABLE public.p_2023_11 PARTITION OF public.sales FOR VALUES FROM ('2023-11-01') TO ('2023-12-01')
                TABLESPACE bench_hot;
            CREATE TABLE public.p_2023_12 PARTITION OF public.sales FOR VALUES FROM ('2023-12-01') TO ('2024-01-01')
                TABLESPACE bench_hot;
            CREATE TABLE public.p_2025_12 PARTITION OF public.sales FOR VALUES FROM ('2025-12-01') TO ('2026-01-01')
                TABLESPACE bench_hot;
            """);
        await FillAsync(cs, [
            ("2023-01-01", 304, headMonths * monthRows, 0),
            ("2023-11-01", 30, monthRows, 100_000_000),
            ("2023-12-01", 31, monthRows, 200_000_000),
            ("2025-12-01", 31, monthRows, 300_000_000),
        ]);
        Log($"template {name}: rows in {watch.Elapsed.TotalSeconds:0}s, building the indexes");
        await IndexAndVacuumAsync(cs);
        Log($"template {name}: {(headMonths + 3) * monthRows:N0} rows, indexed and vacuumed in {watch.Elapsed.TotalSeconds:0}s");
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

    /// <summary>What one measured run did: filled in by the work it measures.</summary>
    private sealed class Run
    {
        public Stopwatch Watch { get; } = new();
        public int Merges { get; set; }
        public long Aged { get; set; }
        public HashSet<string> Applied { get; } = [];
        /// <summary>Rows of tables copied by SET TABLESPACE, which inserts nothing.</summary>
        public long NotInserted { get; set; }
        /// <summary>The first failure: the run stops there and prints it instead of its figures.</summary>
        public string? Failure { get; set; }
        /// <summary>The floor's copies, whose rows are checked instead of the yearly partition's.</summary>
        public List<string> FloorTables { get; } = [];
    }

    private static async Task<Result> MeasureAsync(ThrowawayPostgres cluster, Setup setup, string scenario, string writers,
        string name, bool isReference, Func<string, Run, Task> work, string? label = null)
    {
        label ??= $"{setup.MonthRows:N0} {scenario} writers={writers} {name}";
        Log($"{label}: copying the template");
        var db = $"ilm_run_{Guid.NewGuid():N}"[..24];
        await ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {db} TEMPLATE {setup.Template} STRATEGY FILE_COPY");
        var cs = cluster.ConnectionString(db);
        await ExecuteAsync(cs, "CHECKPOINT");
        var updatable = writers == "merged" ? await UpdatableRowsAsync(cs) : [];

        var insertsBefore = await InsertsAsync(cs);
        Log($"{label}: running");
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() => ReaderAsync(cs, stop.Token));
        var sampler = Task.Run(() => LockSamplerAsync(cs, stop.Token));
        var hotWriter = Task.Run(() => WriterAsync(cs, merged: false, [], stop.Token));
        var mergedWriter = writers == "merged" ? Task.Run(() => WriterAsync(cs, merged: true, updatable, stop.Token)) : null;
        var run = new Run();
        try
        {
            await work(cs, run);
        }
        catch (Exception e)
        {
            // A method the merged writer makes fail (or any other failure) is a result, printed instead of its figures.
            run.Failure ??= $"{e.GetType().Name}: {e.Message}";
        }
        run.Watch.Stop();
        // Let the readers and writers see a few polls after the last merge, then stop them.
        await Task.Delay(200);
        await stop.CancelAsync();
        var readerMax = await reader;
        var lockMax = await sampler;
        var hot = await hotWriter;
        var mergedStats = mergedWriter is null ? null : await mergedWriter;
        NpgsqlConnection.ClearAllPools(); // sessions that end flush their statistics
        var insertsAfter = await SettledInsertsAsync(cs);
        var writersInserted = hot.Inserted + (mergedStats?.Inserted ?? 0);
        var written = insertsAfter - insertsBefore + run.NotInserted - writersInserted;

        // Nothing lost: every row still there (the writers' too), every update kept, and the yearly partition holds its
        // own and the merged months' rows (the floor: the copies hold the months' rows, the yearly partition is untouched).
        var rows = await ScalarAsync(cs, "SELECT count(*) FROM public.sales");
        // A year's life has no p_2023 before its first run (the floor leaves it so; a failed run may too).
        var yearlyExists = await ScalarAsync(cs, "SELECT count(*) FROM pg_class WHERE relname = 'p_2023'") == 1;
        var yearly = yearlyExists ? await ScalarAsync(cs, "SELECT count(*) FROM public.p_2023") : 0;
        var mergedInserted = mergedStats?.Inserted ?? 0;
        void Expect(bool ok, string what)
        {
            if (!ok) throw new InvalidOperationException($"{label}: {what}");
        }
        Expect(rows == setup.TotalRows + writersInserted, $"rows in the table: {rows:N0}, {setup.TotalRows + writersInserted:N0} expected");
        if (mergedStats is not null)
        {
            var updated = await ScalarAsync(cs, $"SELECT count(*) FROM public.sales WHERE note = '{UpdatedNote}'");
            Expect(updated == mergedStats.UpdatedIds.Count, $"rows updated: {updated:N0}, {mergedStats.UpdatedIds.Count:N0} expected");
        }
        if (setup.Year == true && name != Floor && run.Failure is null) run.Aged = setup.AgedRows; // the year, moves included
        if (run.Failure is null)
        {
            Expect(run.Aged >= setup.AgedRows && run.Aged <= setup.AgedRows + mergedInserted,
                $"rows merged: {run.Aged:N0}, {setup.AgedRows:N0} expected (plus up to {mergedInserted:N0} of the writer's)");
            if (name == Floor)
            {
                long copied = 0;
                foreach (var table in run.FloorTables) copied += await ScalarAsync(cs, $"SELECT count(*) FROM public.{table}");
                Expect(copied == run.Aged, $"rows in the floor's copies: {copied:N0}, {run.Aged:N0} expected");
                if (setup.Year != true) Expect(yearly == setup.HeadRows, $"rows in p_2023: {yearly:N0}, {setup.HeadRows:N0} expected");
            }
            else
            {
                Expect(yearly == setup.YearlyRows + mergedInserted,
                    $"rows in p_2023: {yearly:N0}, {setup.YearlyRows + mergedInserted:N0} expected");
                if (setup.Year == true)
                    Expect(await ScalarAsync(cs, "SELECT count(*) FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace " +
                        "WHERE c.relname = 'p_2023' AND t.spcname = 'bench_warm'") == 1, "p_2023 not in bench_warm");
            }
        }
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(cluster.ConnectionString(), $"DROP DATABASE {db} WITH (FORCE)");
        var writerNote = $"hot writer {hot.Inserted} rows, longest {hot.LongestMs:0} ms{hot.ErrorNote}" +
                         (mergedStats is null ? "" : $"; merged writer {mergedStats.Inserted} rows + {mergedStats.UpdatedIds.Count} " +
                                                     $"updates, longest {mergedStats.LongestMs:0} ms{mergedStats.ErrorNote}");
        Log(run.Failure is null
            ? $"{label}: {run.Merges} merge(s) of {run.Aged:N0} rows in {run.Watch.Elapsed.TotalSeconds:0.00}s; " +
              $"p_2023 {(yearlyExists ? $"now {yearly:N0} rows" : "absent")}, table {rows:N0}; {writerNote}"
            : $"{label}: did not complete after {run.Watch.Elapsed.TotalSeconds:0.00}s: {run.Failure}; no row lost; {writerNote}");
        var displayScenario = setup.Year == true ? scenario.Replace("year_", "year, ", StringComparison.Ordinal) : scenario;
        return new Result(setup.MonthRows, displayScenario, writers, name, isReference, run.Merges, readerMax, hot.LongestMs,
            mergedStats?.LongestMs, lockMax, run.Aged == 0 ? double.NaN : (double)written / run.Aged,
            run.Watch.Elapsed.TotalSeconds, string.Join("+", run.Applied), run.Failure);
    }

    /// <summary>The engine's merges (ilm run at each as-of date of the scenario) with the given method and strategy.</summary>
    private static async Task EngineMergesAsync(string cs, Run run, string method, string strategy, string policyFolder,
        YearRun? year)
    {
        var policy = IlmPolicy.Load(PolicyFile(policyFolder, method, strategy, year?.MoveBeforeMerge ?? true));
        var mergeTarget = new DatabaseTarget(PostgreSqlProvider.Instance,
            new NpgsqlConnectionStringBuilder(cs) { ApplicationName = MergeApplication, CommandTimeout = 0 }.ConnectionString);
        string[] asOfs = year is not null
            ? Enumerable.Range(0, 12).Select(i => new DateTime(2025, 2, 1).AddMonths(i)
                .ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToArray()
            : strategy == "incremental" ? ["2025-12-01", "2026-01-01"] : ["2026-01-01"];
        foreach (var asOf in asOfs)
        {
            // SET TABLESPACE (in_place's moves, and its relocation of the yearly partition) copies a table without inserting
            // rows: counted here from the table's rows before the run.
            var before = await PartitionRowsAsync(cs); // not merge time
            run.Watch.Start();
            IlmRunResult result;
            try
            {
                result = await new IlmService().RunAsync(new IlmRunRequest(mergeTarget, "sales")
                {
                    Policy = policy,
                    AsOf = DateOnly.Parse(asOf, CultureInfo.InvariantCulture),
                });
            }
            finally
            {
                run.Watch.Stop();
            }
            // The merge's session ends here (not timed), which flushes its statistics: a pooled session reused by the next
            // run kept the first run's inserts pending, and the end's count missed them.
            NpgsqlConnection.ClearAllPools();
            foreach (var o in result.Outcomes)
            {
                foreach (var s in o.Statements)
                    if (System.Text.RegularExpressions.Regex.Match(s.Text, "^ALTER TABLE \"public\"\\.\"([^\"]+)\" SET TABLESPACE")
                        is { Success: true } m)
                        run.NotInserted += before.GetValueOrDefault(m.Groups[1].Value);
                if (o.Status != IlmStatus.Success)
                {
                    // The table gets the error; the progress line also names the action.
                    run.Failure = $"as of {asOf}: {o.Error}";
                    Log($"{method}/{strategy} as of {asOf}: {o.Action.Describe()}: {o.Status}");
                    return;
                }
                if (o.Action is not PartitionOps.Engine.Ilm.Planning.MergeAction) continue;
                run.Merges++;
                run.Aged += o.RowsMerged ?? 0;
                // in_place copies the months into the yearly partition itself; rebuild builds a new one beside it.
                run.Applied.Add(o.Statements.Any(s => s.Text.StartsWith("INSERT INTO \"public\".\"p_2023\" ", StringComparison.Ordinal))
                    ? "in_place" : "rebuild");
            }
        }
    }

    /// <summary>
    /// A reference variant on the month scenarios' merges (incremental: November, then December; year_complete: both at
    /// once) or, for the floor of a year's life ("year"), the year's twelve months copied once. Plain SQL, timed whole.
    /// </summary>
    private static async Task ReferenceAsync(string cs, Run run, string variant, string strategy)
    {
        (string[] Months, string From, string To)[] merges = strategy switch
        {
            "incremental" => [(["p_2023_11"], "2023-11-01", "2023-12-01"), (["p_2023_12"], "2023-12-01", "2024-01-01")],
            "year_complete" => [(["p_2023_11", "p_2023_12"], "2023-11-01", "2024-01-01")],
            _ => [(Enumerable.Range(1, 12).Select(m => $"p_2023_{m:D2}").ToArray(), "2023-01-01", "2024-01-01")],
        };
        await using var c = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(cs) { ApplicationName = MergeApplication, CommandTimeout = 0 }.ConnectionString);
        await c.OpenAsync();
        foreach (var (months, from, to) in merges)
        {
            run.Watch.Start();
            await using var tx = await c.BeginTransactionAsync();
            async Task<int> Sql(string sql) => await new NpgsqlCommand(sql, c, tx) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
            switch (variant)
            {
                case Naive:
                    await Sql("LOCK TABLE public.sales IN ACCESS EXCLUSIVE MODE");
                    foreach (var month in months) await Sql($"ALTER TABLE public.sales DETACH PARTITION public.{month}");
                    await Sql("ALTER TABLE public.sales DETACH PARTITION public.p_2023");
                    foreach (var month in months) run.Aged += await Sql($"INSERT INTO public.p_2023 SELECT * FROM public.{month}");
                    foreach (var month in months) await Sql($"DROP TABLE public.{month}");
                    await Sql($"ALTER TABLE public.sales ATTACH PARTITION public.p_2023 FOR VALUES FROM ('2023-01-01') TO ('{to}')");
                    break;
                case OneStatement:
                    // DETACH takes the parent's ACCESS EXCLUSIVE lock, held to the commit, as MERGE PARTITIONS would.
                    await Sql("ALTER TABLE public.sales DETACH PARTITION public.p_2023");
                    run.Aged += await Sql($"""
                        WITH moved AS (DELETE FROM public.sales WHERE sale_date >= DATE '{from}' AND sale_date < DATE '{to}'
                                       RETURNING *)
                        INSERT INTO public.p_2023 SELECT * FROM moved
                        """);
                    foreach (var month in months) await Sql($"ALTER TABLE public.sales DETACH PARTITION public.{month}");
                    foreach (var month in months) await Sql($"DROP TABLE public.{month}");
                    await Sql($"ALTER TABLE public.sales ATTACH PARTITION public.p_2023 FOR VALUES FROM ('2023-01-01') TO ('{to}')");
                    break;
                case Floor:
                    var copy = $"bench_floor_{run.FloorTables.Count + 1}";
                    run.FloorTables.Add(copy);
                    await Sql($"CREATE TABLE public.{copy} (LIKE public.sales INCLUDING INDEXES) TABLESPACE bench_warm");
                    run.Aged += await Sql($"INSERT INTO public.{copy} SELECT * FROM public.sales " +
                                          $"WHERE sale_date >= DATE '{from}' AND sale_date < DATE '{to}'");
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(variant), variant, "unknown variant");
            }
            await tx.CommitAsync();
            run.Watch.Stop();
            run.Merges++;
            run.Applied.Add(variant);
        }
    }

    private static async Task<long> ScalarAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        return Convert.ToInt64(await new NpgsqlCommand(sql, c) { CommandTimeout = 0 }.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static async Task<string> ScalarTextAsync(string cs, string sql)
    {
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        return Convert.ToString(await new NpgsqlCommand(sql, c).ExecuteScalarAsync(), CultureInfo.InvariantCulture) ?? "";
    }

    /// <summary>
    /// Rows inserted in the database so far, the control schema's audit rows left out. pg_stat_database keeps counting
    /// the inserts into tables dropped since (a rebuilt partition merged again, a moved month merged later), which
    /// pg_stat_user_tables forgets with the table. It also counts the catalog rows of the DDL (tens per run: noise).
    /// </summary>
    private static Task<long> InsertsAsync(string cs) =>
        ScalarAsync(cs, "SELECT (SELECT tup_inserted FROM pg_stat_database WHERE datname = current_database()) " +
                        "- (SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables WHERE schemaname = 'partitionops')");

    /// <summary>
    /// <see cref="InsertsAsync"/> once the ended sessions' statistics are in: the same count twice, 300 ms apart (at most 10 s).
    /// </summary>
    private static async Task<long> SettledInsertsAsync(string cs)
    {
        var last = -1L;
        for (var i = 0; i < 33; i++)
        {
            await Task.Delay(300);
            var now = await InsertsAsync(cs);
            NpgsqlConnection.ClearAllPools(); // the counting session's own statistics are not what is counted
            if (now == last) return now;
            last = now;
        }
        return last;
    }

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

    /// <summary>Rows of the merged months for the merged writer to update, November and December alternately.</summary>
    private static async Task<List<(long Id, DateTime Date)>> UpdatableRowsAsync(string cs)
    {
        var byMonth = new List<List<(long, DateTime)>>();
        await using var c = new NpgsqlConnection(cs);
        await c.OpenAsync();
        foreach (var month in new[] { "p_2023_11", "p_2023_12" })
        {
            var rows = new List<(long, DateTime)>();
            await using var command = new NpgsqlCommand($"SELECT id, sale_date FROM public.{month} ORDER BY id LIMIT 20000", c);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add((reader.GetInt64(0), reader.GetDateTime(1)));
            byMonth.Add(rows);
        }
        return Enumerable.Range(0, Math.Min(byMonth[0].Count, byMonth[1].Count)).SelectMany(i => new[] { byMonth[0][i], byMonth[1][i] })
            .ToList();
    }

    private sealed class WriterStats
    {
        public long Inserted { get; set; }
        public HashSet<long> UpdatedIds { get; } = [];
        public double LongestMs { get; set; }
        public int Errors { get; set; }
        public string? FirstError { get; set; }
        public string ErrorNote => Errors == 0 ? "" : $", {Errors} statement(s) failed, first: {FirstError}";
    }

    /// <summary>
    /// Every 50 ms, one statement in its own transaction: the hot writer inserts a row of December 2025 (a HOT month
    /// nobody merges); the merged writer alternately inserts a row of November or December 2023 (the months being
    /// merged) and updates one of their rows (its note set to <see cref="UpdatedNote"/>). Counts what committed; a
    /// failed statement is counted and the writer goes on (on a new connection if it broke).
    /// </summary>
    private static async Task<WriterStats> WriterAsync(string cs, bool merged, List<(long Id, DateTime Date)> updatable,
        CancellationToken stop)
    {
        var stats = new WriterStats();
        var c = new NpgsqlConnection(cs);
        try
        {
            await c.OpenAsync(CancellationToken.None);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                NpgsqlCommand command;
                long? updatedId = null;
                if (!merged || n % 2 == 0 || updatable.Count == 0)
                {
                    var (firstId, firstDay, days) = !merged ? (HotWriterFirstId, "2025-12-01", 31)
                        : n % 4 == 0 ? (MergedWriterFirstId, "2023-11-01", 30) : (MergedWriterFirstId, "2023-12-01", 31);
                    command = new NpgsqlCommand("INSERT INTO public.sales (id, sale_date, amount, note) " +
                                                "VALUES (@id, DATE '" + firstDay + "' + @d, 1, 'bench-writer')", c);
                    command.Parameters.AddWithValue("id", firstId + n);
                    command.Parameters.AddWithValue("d", n % days);
                }
                else
                {
                    var (id, date) = updatable[n / 2 % updatable.Count];
                    updatedId = id;
                    command = new NpgsqlCommand(
                        $"UPDATE public.sales SET note = '{UpdatedNote}' WHERE id = @id AND sale_date = @date", c);
                    command.Parameters.AddWithValue("id", id);
                    command.Parameters.AddWithValue("date", NpgsqlTypes.NpgsqlDbType.Date, date);
                }
                command.CommandTimeout = 0;
                var watch = Stopwatch.StartNew();
                try
                {
                    var affected = await command.ExecuteNonQueryAsync(CancellationToken.None);
                    if (updatedId is { } u) { if (affected == 1) stats.UpdatedIds.Add(u); }
                    else stats.Inserted += affected;
                }
                catch (NpgsqlException e)
                {
                    stats.Errors++;
                    stats.FirstError ??= e.Message;
                    if (c.State != System.Data.ConnectionState.Open)
                    {
                        await c.DisposeAsync();
                        c = new NpgsqlConnection(cs);
                        await c.OpenAsync(CancellationToken.None);
                    }
                }
                finally
                {
                    await command.DisposeAsync();
                }
                stats.LongestMs = Math.Max(stats.LongestMs, watch.Elapsed.TotalMilliseconds);
                try { await Task.Delay(50, stop); } catch (OperationCanceledException) { break; }
            }
        }
        finally
        {
            await c.DisposeAsync();
        }
        return stats;
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
                      AND l.mode = 'AccessExclusiveLock'
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
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
