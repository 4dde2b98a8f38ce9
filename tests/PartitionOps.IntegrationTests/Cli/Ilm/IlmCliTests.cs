using System.Text.Json;
using Npgsql;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.IntegrationTests.Ilm;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Cli.Ilm;

/// <summary>`partitionops ilm ...` against a real PostgreSQL with real tablespaces: exit codes, --json documents, bad input.</summary>
[Collection(PostgresCollection.Name)]
public sealed class IlmCliTests(PostgresFixture postgres, ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ilmcli").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Task<CliRun> IlmAsync(string verb, IlmTestDatabase db, params string[] args) =>
        CliRun.RunAsync(["ilm", verb, "--provider", "postgresql", "--connection", db.ConnectionString, .. args]);

    /// <summary>A policy file naming the test's tablespaces (the default TBS_* names do not exist on the test server).</summary>
    private string PolicyFile(IlmTestDatabase db, string? warm = null)
    {
        var path = Path.Combine(_folder, $"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            // the spec's template shape
            { "tier_config": { "enabled": true, "auto_merge": true,
                "hot":  { "interval": "MONTHLY", "tablespace": "{{db.Hot}}", "compression": "NONE", "age_months": 24 },
                "warm": { "interval": "YEARLY", "tablespace": "{{warm ?? db.Warm}}", "compression": "BASIC", "age_months": 60,
                          "merge_monthly": true },
                "cold": { "interval": "YEARLY", "tablespace": "{{db.Cold}}", "compression": "BASIC", "merge_monthly": true } } }
            """);
        return path;
    }

    /// <summary>p_2023 (Jan-Oct) in WARM, November 2023 to January 2024 monthly in HOT.</summary>
    private async Task<IlmTestDatabase?> SalesAsync()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return null;
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-11-01", db.Warm);
        await db.AddMonthAsync(2023, 11, db.Hot);
        await db.AddMonthAsync(2023, 12, db.Hot);
        await db.AddMonthAsync(2024, 1, db.Hot);
        await db.AnalyzeAsync();
        return db;
    }

    [Fact]
    public async Task Plan_dry_run_run_history_summary_snapshot_simulate_and_health_with_json()
    {
        var db = await SalesAsync();
        if (db is null) return;
        var policy = PolicyFile(db);
        var before = await db.PartitionsAsync();
        var total = await db.TotalRowsAsync();

        // plan: one merge of November into p_2023, with PostgreSQL's statements; nothing changes.
        var plan = await IlmAsync("plan", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--json");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        var planDoc = plan.Json();
        Assert.Equal("postgresql", planDoc.GetProperty("provider").GetString());
        Assert.Equal("2025-12-01", planDoc.GetProperty("asOf").GetString());
        var step = Assert.Single(planDoc.GetProperty("steps").EnumerateArray());
        Assert.Equal(("merge", "p_2023"), (step.GetProperty("action").GetString(), step.GetProperty("partition").GetString()));
        Assert.Equal("merge", step.GetProperty("detail").GetProperty("action").GetString());
        Assert.Contains(step.GetProperty("statements").EnumerateArray(), s => s.GetString()!.Contains("ATTACH PARTITION"));
        var human = await IlmAsync("plan", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01");
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("nothing was changed", human.Stdout);
        Assert.Contains("INSERT INTO \"public\".\"p_2023_ilm_rebuild\"", human.Stdout);

        // run --dry-run: the same plan, status PLANNED, nothing written (not even the control tables).
        var dry = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--dry-run", "--json");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var dryDoc = dry.Json();
        Assert.True(dryDoc.GetProperty("dryRun").GetBoolean());
        Assert.Equal("PLANNED", Assert.Single(dryDoc.GetProperty("outcomes").EnumerateArray()).GetProperty("status").GetString());
        Assert.Equal(before, await db.PartitionsAsync());
        Assert.False(await db.ControlSchemaExistsAsync());

        // run: the merge happens and is audited.
        var run = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var runDoc = run.Json();
        Assert.Equal((1, 0), (runDoc.GetProperty("succeeded").GetInt32(), runDoc.GetProperty("failed").GetInt32()));
        // rowsMerged: November's rows, as in the audit row; rowsInMergedPartitions: the whole grown p_2023.
        var november = IlmTestDatabase.DaysRows("2023-11-01", "2023-12-01");
        Assert.Equal(november, runDoc.GetProperty("rowsMerged").GetInt64());
        Assert.Equal(november, Assert.Single(runDoc.GetProperty("outcomes").EnumerateArray()).GetProperty("rowsMerged").GetInt64());
        Assert.Equal(IlmTestDatabase.DaysRows("2023-01-01", "2023-12-01"), runDoc.GetProperty("rowsInMergedPartitions").GetInt64());
        Assert.Equal((long?)november, Assert.Single(await db.AuditAsync()).Rows);
        Assert.Contains("[1/1]", run.Stderr);
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2023", "p_2023_12", "p_2024_01"], parts.Keys.Order());
        Assert.Equal("FOR VALUES FROM ('2023-01-01') TO ('2023-12-01')", parts["p_2023"].Bound);
        Assert.Equal(total, await db.TotalRowsAsync());

        var again = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("nothing to do", again.Stdout);

        // history
        var history = await IlmAsync("history", db, "--table", "sales", "--json");
        Assert.True(history.ExitCode == 0, history.ToString());
        var merge = Assert.Single(history.Json().GetProperty("merges").EnumerateArray());
        Assert.Equal(("p_2023_11", "p_2023", "SUCCESS"),
            (merge.GetProperty("sourcePartition").GetString(), merge.GetProperty("targetPartition").GetString(),
                merge.GetProperty("mergeStatus").GetString()));
        Assert.Contains("SUCCESS", (await IlmAsync("history", db)).Stdout);

        // summary per tier
        await db.AnalyzeAsync();
        var summary = await IlmAsync("summary", db, "--table", "sales", "--policy", policy, "--json");
        Assert.True(summary.ExitCode == 0, summary.ToString());
        var tiers = summary.Json().GetProperty("tiers").EnumerateArray().ToDictionary(t => t.GetProperty("tier").GetString()!);
        Assert.Equal((0, 2), (tiers["HOT"].GetProperty("yearly").GetInt32(), tiers["HOT"].GetProperty("monthly").GetInt32()));
        Assert.Equal((1, 0), (tiers["WARM"].GetProperty("yearly").GetInt32(), tiers["WARM"].GetProperty("monthly").GetInt32()));
        Assert.Equal(total, tiers.Values.Sum(t => t.GetProperty("rows").GetInt64()));
        Assert.Contains("WARM", (await IlmAsync("summary", db, "--table", "sales", "--policy", policy)).Stdout);

        // health: one successful merge, no alert.
        var health = await IlmAsync("health", db, "--table", "sales", "--policy", policy, "--json");
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.True(health.Json().GetProperty("passed").GetBoolean());
        Assert.Contains("PASS", (await IlmAsync("health", db, "--table", "sales")).Stdout);

        // snapshot: to stdout (the layout file format) and to a file; both read back by --layout.
        var snapshot = await IlmAsync("snapshot", db, "--table", "sales");
        Assert.True(snapshot.ExitCode == 0, snapshot.ToString());
        Assert.Equal(3, LayoutJson.Deserialize(snapshot.Stdout).Partitions.Count);
        var layoutFile = Path.Combine(_folder, "sales.layout.json");
        var saved = await IlmAsync("snapshot", db, "--table", "sales", "--output", layoutFile, "--json");
        Assert.True(saved.ExitCode == 0, saved.ToString());
        Assert.Equal(3, saved.Json().GetProperty("partitions").GetInt32());
        Assert.Contains("\"partition_key\": \"sale_date\"", File.ReadAllText(layoutFile));

        // simulate from the file, offline: both strategies, month by month.
        var simulate = await CliRun.RunAsync("ilm", "simulate", "--layout", layoutFile, "--policy", policy, "--from", "2026-01-01", "--to",
            "2027-12-01", "--json");
        Assert.True(simulate.ExitCode == 0, simulate.ToString());
        var strategies = simulate.Json().GetProperty("strategies").EnumerateArray().ToList();
        Assert.Equal(["incremental", "year_complete"], strategies.Select(s => s.GetProperty("strategy").GetString()));
        Assert.All(strategies, s => Assert.Equal(24, s.GetProperty("months").GetArrayLength()));
        // By the end 2024 and 2025 have reached WARM: yearly partitions, no monthly left there.
        var incremental = strategies[0].GetProperty("final");
        Assert.Equal(0, incremental.GetProperty("warmMonthly").GetInt32());
        Assert.True(incremental.GetProperty("warmYearly").GetInt32() >= 2);
        Assert.True(strategies[0].GetProperty("rowsRewritten").GetInt64() > 0);
        var simulateHuman = await IlmAsync("simulate", db, "--table", "sales", "--policy", policy, "--from", "2026-01-01", "--to",
            "2026-06-01");
        Assert.True(simulateHuman.ExitCode == 0, simulateHuman.ToString());
        Assert.Contains("comparison", simulateHuman.Stdout);
        Assert.Contains("year_complete", simulateHuman.Stdout);

        Assert.Equal(total, await db.TotalRowsAsync());
    }

    [Fact]
    public async Task Plan_from_a_layout_file_shows_oracle_sql_without_a_connection()
    {
        var layout = new PartitionLayout
        {
            Provider = "oracle",
            Schema = "CMR",
            Table = "SALES_PART",
            PartitionKey = "SALE_DATE",
            ServerMajorVersion = 19,
            Partitions =
            [
                new() { Name = "P_2023", UpperBound = new DateTime(2023, 11, 1), Tablespace = "TBS_WARM", Compression = "BASIC",
                    RowEstimate = 3000 },
                new() { Name = "P_2023_11", UpperBound = new DateTime(2023, 12, 1), Tablespace = "TBS_HOT", Compression = "NONE",
                    RowEstimate = 300 },
                new() { Name = "P_2023_12", UpperBound = new DateTime(2024, 1, 1), Tablespace = "TBS_HOT", Compression = "NONE",
                    RowEstimate = 300 },
                new() { Name = "P_2024_01", UpperBound = new DateTime(2024, 2, 1), Tablespace = "TBS_HOT", Compression = "NONE",
                    RowEstimate = 300 },
                new() { Name = "P_2024_02", UpperBound = new DateTime(2024, 3, 1), Tablespace = "TBS_HOT", Compression = "NONE",
                    RowEstimate = 300 },
            ],
        };
        var file = Path.Combine(_folder, "oracle.layout.json");
        LayoutJson.Save(layout, file);
        var old = Environment.GetEnvironmentVariable("PARTITIONOPS_CONNECTION");
        Environment.SetEnvironmentVariable("PARTITIONOPS_CONNECTION", null);
        try
        {
            var human = await CliRun.RunAsync("ilm", "plan", "--layout", file, "--provider", "oracle", "--as-of", "2026-02-01");
            Assert.True(human.ExitCode == 0, human.ToString());
            Assert.Contains("MERGE PARTITIONS \"P_2023\", \"P_2023_11\", \"P_2023_12\" INTO PARTITION \"P_2023_12\"", human.Stdout);
            Assert.Contains("UPDATE INDEXES", human.Stdout);
            Assert.Contains("RENAME PARTITION \"P_2023_12\" TO \"P_2023\"", human.Stdout);
            Assert.Contains("RENAME PARTITION \"P_2024_01\" TO \"P_2024\"", human.Stdout);
            Assert.Contains("DDL_LOCK_TIMEOUT", human.Stdout);

            var online = Path.Combine(_folder, "online.json");
            File.WriteAllText(online, """{ "tier_config": { "online": true } }""");
            var json = await CliRun.RunAsync("ilm", "plan", "--layout", file, "--provider", "oracle", "--policy", online, "--as-of",
                "2026-02-01", "--json");
            Assert.True(json.ExitCode == 0, json.ToString());
            var doc = json.Json();
            Assert.Equal("oracle", doc.GetProperty("provider").GetString());
            var statements = doc.GetProperty("steps").EnumerateArray().SelectMany(s => s.GetProperty("statements").EnumerateArray())
                .Select(s => s.GetString()!).ToList();
            Assert.Contains(statements, s => s.Contains("MERGE PARTITIONS") && s.EndsWith("ONLINE", StringComparison.Ordinal));

            // Whose SQL: --provider is needed with --layout.
            var noProvider = await CliRun.RunAsync("ilm", "plan", "--layout", file, "--json");
            Assert.True(noProvider.ExitCode == 2, noProvider.ToString());
            Assert.Equal("--provider", noProvider.Json().GetProperty("error").GetProperty("parameter").GetString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("PARTITIONOPS_CONNECTION", old);
        }
    }

    [Fact]
    public async Task A_failed_merge_is_exit_1_health_then_exits_3_and_the_retry_succeeds()
    {
        var db = await SalesAsync();
        if (db is null) return;
        var policy = PolicyFile(db);

        CliRun blocked;
        await using (var other = new NpgsqlConnection(db.ConnectionString))
        {
            await other.OpenAsync();
            await using var tx = await other.BeginTransactionAsync();
            await using (var lockCommand = new NpgsqlCommand("LOCK TABLE public.p_2023 IN ACCESS SHARE MODE", other, tx))
                await lockCommand.ExecuteNonQueryAsync();
            blocked = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--lock-timeout", "1",
                "--json");
            await tx.RollbackAsync();
        }
        Assert.True(blocked.ExitCode == 1, blocked.ToString());
        // The failed merge, then the move that still takes its HOT month to WARM.
        var outcomes = blocked.Json().GetProperty("outcomes").EnumerateArray().ToList();
        Assert.Equal(2, outcomes.Count);
        var outcome = outcomes[0];
        Assert.Equal("FAILED", outcome.GetProperty("status").GetString());
        Assert.Equal("LockTimeout", outcome.GetProperty("errorKind").GetString());
        Assert.Equal(("move", "p_2023_11", "SUCCESS"),
            (outcomes[1].GetProperty("action").GetString(), outcomes[1].GetProperty("partition").GetString(),
                outcomes[1].GetProperty("status").GetString()));

        var health = await IlmAsync("health", db, "--table", "sales", "--policy", policy, "--json");
        Assert.True(health.ExitCode == 3, health.ToString());
        var report = health.Json();
        Assert.False(report.GetProperty("passed").GetBoolean());
        var failureRate = report.GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "merge failure rate");
        Assert.False(failureRate.GetProperty("passed").GetBoolean());
        var humanHealth = await IlmAsync("health", db);
        Assert.Equal(3, humanHealth.ExitCode);
        Assert.Contains("FAIL", humanHealth.Stdout);

        var retried = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01");
        Assert.True(retried.ExitCode == 0, retried.ToString());
        Assert.Equal(["FAILED", "SUCCESS"], (await db.AuditAsync()).Select(a => a.Status));

        // A threshold can make a passing number fire too: one monthly partition in WARM is over --max-warm-monthly 0.
        await db.AddMonthAsync(2019, 5, db.Warm);
        var warm = await IlmAsync("health", db, "--table", "sales", "--policy", policy, "--max-failure-rate", "100", "--json");
        var checks = warm.Json().GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.True(checks["WARM monthly partitions"].GetProperty("passed").GetBoolean());
        var strict = await IlmAsync("health", db, "--table", "sales", "--policy", policy, "--max-warm-monthly", "0", "--json");
        Assert.True(strict.ExitCode == 3, strict.ToString());
        var strictChecks = strict.Json().GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.False(strictChecks["WARM monthly partitions"].GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task Run_only_chosen_partitions()
    {
        var db = await SalesAsync();
        if (db is null) return;
        var policy = PolicyFile(db);
        // As of 2026-02-01 November and December merge into p_2023 and January 2024 is due for WARM too.
        string[] run = ["run", "--table", "sales", "--policy", policy, "--as-of", "2026-02-01"];

        var dry = await IlmAsync(run[0], db, [.. run[1..], "--only-partition", "p_2023_11", "--dry-run", "--json"]);
        Assert.True(dry.ExitCode == 0, dry.ToString());
        var doc = dry.Json();
        Assert.Equal(["partition p_2023_11"], doc.GetProperty("only").EnumerateArray().Select(e => e.GetString()));
        var step = Assert.Single(doc.GetProperty("outcomes").EnumerateArray());
        Assert.Equal(["p_2023", "p_2023_11"],
            step.GetProperty("detail").GetProperty("sources").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("p_2023_12", string.Join("\n", step.GetProperty("statements").EnumerateArray().Select(e => e.GetString())));
        var human = await IlmAsync(run[0], db, [.. run[1..], "--only-partition", "p_2023_11", "--dry-run"]);
        Assert.Contains("(only partition p_2023_11)", human.Stdout);
        Assert.False(await db.ControlSchemaExistsAsync());

        // Two partitions, repeated option: both months merge in one action; January is not touched.
        var both = await IlmAsync(run[0], db, [.. run[1..], "--only-partition", "p_2023_11", "--only-partition", "P_2023_12", "--json"]);
        Assert.True(both.ExitCode == 0, both.ToString());
        Assert.Equal(1, both.Json().GetProperty("succeeded").GetInt32());
        Assert.Equal(IlmTestDatabase.DaysRows("2023-11-01", "2024-01-01"), both.Json().GetProperty("rowsMerged").GetInt64());
        var parts = await db.PartitionsAsync();
        Assert.Equal(["p_2023", "p_2024_01"], parts.Keys.Order());
        Assert.Equal(db.Hot, parts["p_2024_01"].Tablespace);
    }

    [Fact]
    public async Task Config_get_and_set()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;

        // Reading creates nothing: before the first run or set, the defaults, marked; no history; health passes.
        var get = await IlmAsync("config", db, "--json");
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal(50, get.Json().GetProperty("effective").GetProperty("maxMergesPerRun").GetInt32());
        Assert.False(get.Json().GetProperty("tableExists").GetBoolean());
        Assert.All(get.Json().GetProperty("entries").EnumerateArray(), e => Assert.True(e.GetProperty("isDefault").GetBoolean()));
        var getHuman = await IlmAsync("config", db);
        Assert.True(getHuman.ExitCode == 0, getHuman.ToString());
        Assert.Contains("does not exist yet", getHuman.Stdout);
        var history = await IlmAsync("history", db, "--json");
        Assert.True(history.ExitCode == 0, history.ToString());
        Assert.Equal(0, history.Json().GetProperty("merges").GetArrayLength());
        var health = await IlmAsync("health", db, "--json");
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.False(await db.ControlSchemaExistsAsync());

        var set = await CliRun.RunAsync("ilm", "config", "set", "max_merges_per_run", "5", "--provider", "postgresql", "--connection",
            db.ConnectionString, "--json");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal(5, set.Json().GetProperty("effective").GetProperty("maxMergesPerRun").GetInt32());
        Assert.Equal("5", await db.ScalarAsync<string>(
            "SELECT config_value FROM partitionops.dwh_ilm_config WHERE config_key = 'MAX_MERGES_PER_RUN'"));

        // Y/N switches accept YES/TRUE/1/NO/FALSE/0 and are stored as the spec's Y / N.
        var yes = await CliRun.RunAsync("ilm", "config", "set", "merge_retry_failed", "false", "--provider", "postgresql", "--connection",
            db.ConnectionString);
        Assert.True(yes.ExitCode == 0, yes.ToString());
        Assert.Equal("N", await db.ScalarAsync<string>(
            "SELECT config_value FROM partitionops.dwh_ilm_config WHERE config_key = 'MERGE_RETRY_FAILED'"));
        var one = await CliRun.RunAsync("ilm", "config", "set", "AUTO_MERGE_PARTITIONS", "YES", "--provider", "postgresql", "--connection",
            db.ConnectionString);
        Assert.True(one.ExitCode == 0, one.ToString());
        Assert.Equal("Y", await db.ScalarAsync<string>(
            "SELECT config_value FROM partitionops.dwh_ilm_config WHERE config_key = 'AUTO_MERGE_PARTITIONS'"));

        var human = await CliRun.RunAsync("ilm", "config", "get", "--provider", "postgresql", "--connection", db.ConnectionString);
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("MAX_MERGES_PER_RUN", human.Stdout);
        Assert.Contains("at most 5 merges per run", human.Stdout);

        var bad = await CliRun.RunAsync("ilm", "config", "set", "MERGE_LOCK_TIMEOUT", "soon", "--provider", "postgresql", "--connection",
            db.ConnectionString, "--json");
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Equal("soon", bad.Json().GetProperty("error").GetProperty("value").GetString());
        var unknown = await CliRun.RunAsync("ilm", "config", "set", "NO_SUCH_KEY", "1", "--provider", "postgresql", "--connection",
            db.ConnectionString, "--json");
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Equal("NO_SUCH_KEY", unknown.Json().GetProperty("error").GetProperty("value").GetString());
        Assert.Equal("30", await db.ScalarAsync<string>(
            "SELECT config_value FROM partitionops.dwh_ilm_config WHERE config_key = 'MERGE_LOCK_TIMEOUT'"));
    }

    [Fact]
    public async Task Bad_input_is_exit_2_naming_the_value_and_changes_nothing()
    {
        var db = await SalesAsync();
        if (db is null) return;
        await db.ExecuteAsync("CREATE TABLE public.plain (id int)");
        var policy = PolicyFile(db);
        var missingTablespace = PolicyFile(db, warm: "tbs_missing");
        var broken = Path.Combine(_folder, "broken.json");
        File.WriteAllText(broken, """{ "tier_config": { "hot": { "tablespace": """);
        var notLayout = Path.Combine(_folder, "not-a-layout.json");
        File.WriteAllText(notLayout, "[1, 2, 3]");
        var before = await db.PartitionsAsync();
        var cs = db.ConnectionString;

        var cases = new (string[] Args, string Parameter, string Value)[]
        {
            (["run", "--table", "nosuch"], "--table", "nosuch"),
            (["run", "--table", "plain"], "--table", "plain"),
            (["run", "--table", "sales", "--policy", missingTablespace, "--as-of", "2025-12-01"], "--policy", "tbs_missing"),
            (["plan", "--table", "sales", "--policy", missingTablespace, "--as-of", "2025-12-01"], "--policy", "tbs_missing"),
            (["run", "--table", "sales", "--policy", broken], "--policy", broken),
            (["run", "--table", "sales", "--policy", Path.Combine(_folder, "nope.json")], "--policy", "nope.json"),
            (["run", "--table", "sales", "--policy", policy, "--as-of", "2025-13-45"], "--as-of", "2025-13-45"),
            (["run", "--table", "sales", "--policy", policy, "--as-of", "yesterday"], "--as-of", "yesterday"),
            (["run", "--table", "sales", "--policy", policy, "--max-merges", "-1"], "--max-merges", "-1"),
            (["run", "--table", "sales", "--policy", policy, "--lock-timeout", "0"], "--lock-timeout", "0"),
            (["run", "--table", "sales", "--policy", policy, "--max-merges", "many"], "--max-merges", "many"),
            (["run", "--policy", policy], "--table", ""),
            (["run", "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--only-partition", "p_2023_12"], "--only-partition",
                "p_2023_12"),
            (["run", "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--only-partition", "p_2023_12", "--dry-run"],
                "--only-partition", "p_2023_12"),
            (["run", "--table", "sales", "--policy", policy, "--only-partition", "p;drop"], "--only-partition", "p;drop"),
            (["summary", "--table", "nosuch"], "--table", "nosuch"),
            (["snapshot", "--table", "sales", "--output", Path.Combine(_folder, "no", "such", "dir", "x.json")], "--output", "x.json"),
            (["plan", "--layout", notLayout], "--layout", notLayout),
            (["plan", "--layout", Path.Combine(_folder, "missing.json")], "--layout", "missing.json"),
            (["simulate", "--layout", notLayout, "--from", "2026-01-01", "--to", "2026-12-01"], "--layout", notLayout),
            (["simulate", "--table", "sales", "--from", "2026-12-01", "--to", "2026-01-01"], "--to", "2026-01-01"),
            (["simulate", "--table", "sales", "--from", "2026-01-01", "--to", "2026-02-01", "--strategy", "eager"], "--strategy", "eager"),
        };
        foreach (var (args, parameter, value) in cases)
        {
            var run = await CliRun.RunAsync(["ilm", .. args, "--provider", "postgresql", "--connection", cs, "--json"]);
            Assert.True(run.ExitCode == 2, $"{string.Join(" ", args)}: {run}");
            var error = run.Json().GetProperty("error");
            Assert.True(error.GetProperty("parameter").GetString() == parameter, $"{string.Join(" ", args)}: {run}");
            Assert.Contains(value, error.GetProperty("value").GetString() ?? "");
            Assert.Contains(value, run.Stderr);
        }

        var unknownProvider = await CliRun.RunAsync("ilm", "run", "--table", "sales", "--provider", "mysql", "--connection", cs, "--json");
        Assert.True(unknownProvider.ExitCode == 2, unknownProvider.ToString());
        Assert.Equal(("--provider", "mysql"), (unknownProvider.Json().GetProperty("error").GetProperty("parameter").GetString(),
            unknownProvider.Json().GetProperty("error").GetProperty("value").GetString()));
        var sqlServer = await IlmAsync("plan", db, "--table", "sales", "--policy", policy, "--json");
        Assert.Equal(0, sqlServer.ExitCode);
        var sqlServerLayout = Path.Combine(_folder, "sales.json");
        Assert.Equal(0, (await IlmAsync("snapshot", db, "--table", "sales", "--output", sqlServerLayout)).ExitCode);
        var noIlm = await CliRun.RunAsync("ilm", "plan", "--layout", sqlServerLayout, "--provider", "sqlserver", "--json");
        Assert.True(noIlm.ExitCode == 2, noIlm.ToString());
        Assert.Equal("sqlserver", noIlm.Json().GetProperty("error").GetProperty("value").GetString());

        Assert.Equal(before, await db.PartitionsAsync());
        Assert.False(await db.ControlSchemaExistsAsync());
    }

    [Fact]
    public async Task Run_options_win_over_auto_merge_and_retry_failed_in_the_config()
    {
        var db = await SalesAsync();
        if (db is null) return;
        var policy = PolicyFile(db);

        // AUTO_MERGE_PARTITIONS = N in the table; --auto-merge Y wins for this run, and the other way round.
        Assert.Equal(0, (await CliRun.RunAsync("ilm", "config", "set", "AUTO_MERGE_PARTITIONS", "N", "--provider", "postgresql",
            "--connection", db.ConnectionString)).ExitCode);
        var configOff = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--dry-run", "--json");
        Assert.True(configOff.ExitCode == 0, configOff.ToString());
        Assert.DoesNotContain(configOff.Json().GetProperty("outcomes").EnumerateArray(),
            o => o.GetProperty("action").GetString() == "merge");
        var forcedOn = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--dry-run",
            "--auto-merge", "Y", "--json");
        Assert.True(forcedOn.ExitCode == 0, forcedOn.ToString());
        Assert.Contains(forcedOn.Json().GetProperty("outcomes").EnumerateArray(), o => o.GetProperty("action").GetString() == "merge");

        Assert.Equal(0, (await CliRun.RunAsync("ilm", "config", "set", "AUTO_MERGE_PARTITIONS", "Y", "--provider", "postgresql",
            "--connection", db.ConnectionString)).ExitCode);
        var forcedOff = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--dry-run",
            "--auto-merge", "N", "--json");
        Assert.True(forcedOff.ExitCode == 0, forcedOff.ToString());
        Assert.DoesNotContain(forcedOff.Json().GetProperty("outcomes").EnumerateArray(),
            o => o.GetProperty("action").GetString() == "merge");

        // --retry-failed N is accepted for a dry run (no FAILED rows here: the merge is still planned).
        var noRetry = await IlmAsync("run", db, "--table", "sales", "--policy", policy, "--as-of", "2025-12-01", "--dry-run",
            "--retry-failed", "N", "--json");
        Assert.True(noRetry.ExitCode == 0, noRetry.ToString());
        Assert.Contains(noRetry.Json().GetProperty("outcomes").EnumerateArray(), o => o.GetProperty("action").GetString() == "merge");
    }

    [Fact]
    public async Task An_unreachable_server_is_exit_1()
    {
        var run = await CliRun.RunAsync("ilm", "plan", "--table", "sales", "--provider", "postgresql",
            "--connection", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=3", "--json");
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.NotEqual("invalid-input", run.Json().GetProperty("error").GetProperty("kind").GetString());
    }
}
