using System.Diagnostics;
using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// The runner PROCESS is killed (SIGKILL, the whole process tree) before each statement of a merge and of a move, in
/// turn: not an exception and not a terminated backend (PostgreSqlIlmFaultInjectionTests does those), but the death an
/// operator's kill -9, an OOM kill or a stopped Azure Automation job brings. The runner is a process of its own
/// (tests/PartitionOps.IlmKillRunner) that waits, alive and holding what the run holds, before the chosen statement;
/// the kill lands there, deterministically. After each kill: every row in place, bounds unchanged, every index valid
/// and readable (amcheck), no SUCCESS that did not happen, the application's writes working; then the next run
/// reconciles, leaves nothing of ours behind and converges to the layout of a run that was never killed. With a primary
/// key (the rebuild captures changes with a trigger) and without (it holds SHARE locks for the copy).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmRunnerKilledTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const string AsOf = "2025-12-01";
    private const string RunnerApplication = "partitionops-ilm-kill-runner";

    [Theory]
    [InlineData("merge", false)]
    [InlineData("merge", true)]
    [InlineData("move", true)]
    public async Task A_runner_killed_before_any_statement_loses_nothing_and_the_next_run_converges(string operation, bool primaryKey)
    {
        var reference = await SetupAsync(operation, primaryKey);
        if (reference is null) return;
        var recorder = new RecordingHook();
        var clean = await new IlmService(hook: recorder).RunAsync(Request(reference));
        Assert.All(clean.Outcomes, o => Assert.Equal(IlmStatus.Success, o.Status));
        var converged = IlmInvariants.Shape(reference, await IlmInvariants.LayoutAsync(reference));
        output.WriteLine($"{recorder.Points.Count} statement points: " +
                         string.Join(", ", recorder.Points.Select(p => $"{p.Phase}[{p.Index}]")));

        for (var at = 0; at < recorder.Points.Count; at++)
        {
            var db = (await SetupAsync(operation, primaryKey))!;
            var months = await IlmInvariants.MonthsAsync(db);
            var before = await IlmInvariants.LayoutAsync(db);
            var coverage = IlmInvariants.Coverage(before.InBoundOrder());
            var point = recorder.Points[at];
            var context = $"{operation} (primary key: {primaryKey}) killed before {point.Phase}[{point.Index}] " +
                          IlmInvariants.Short(point.Statement.Text);

            await KillRunnerBeforeAsync(db, at, context);

            await IlmInvariants.AssertIntactAsync(db, months, coverage, context);
            Assert.True(IlmInvariants.Bounds(before).SequenceEqual(IlmInvariants.Bounds(await IlmInvariants.LayoutAsync(db))),
                $"{context}: partition bounds changed although the runner died before its swap committed");
            Assert.DoesNotContain(await IlmInvariants.AuditAsync(db), a => a.Status == IlmStatus.Success);
            Assert.DoesNotContain(await IlmInvariants.MoveLogAsync(db), m => m.Status == IlmStatus.Success);

            // Whatever the killed run left (a capture trigger, a log table), the application's writes go on working.
            var (month, day) = operation == "merge" ? ("2023-11", "2023-11-15") : ("2019-06", "2019-06-15");
            await db.ExecuteAsync($"INSERT INTO public.sales (id, sale_date, amount) VALUES (90000001, '{day}', 1)");
            months[month] = (months[month].Rows + 1, months[month].Sum + 1);

            var next = await new IlmService().RunAsync(Request(db));
            Assert.All(next.Outcomes, o => Assert.True(o.Status == IlmStatus.Success,
                $"{context}: next run: {o.Action.Describe()} {o.Error}"));
            await IlmInvariants.AssertIntactAsync(db, months, coverage, context + " (next run)");
            await IlmInvariants.AssertNoLeftoversAsync(db, context + " (next run)");
            Assert.Equal(converged, IlmInvariants.Shape(db, await IlmInvariants.LayoutAsync(db)));
            var audit = await IlmInvariants.AuditAsync(db);
            Assert.DoesNotContain(audit, a => a.Status == IlmStatus.InProgress);
            foreach (var source in audit.Select(a => a.Source).Distinct())
                Assert.Equal(IlmStatus.Success, audit.Last(a => a.Source == source).Status);
            // Each point has its own database: idle pooled sessions to the old ones would use up max_connections.
            NpgsqlConnection.ClearAllPools();
        }
    }

    /// <summary>
    /// Merge: p_2023 (January to October, in HOT: its tier is WARM) and November 2023 merge into p_2023, which the merge
    /// relocates. Move: p_2019 (in HOT) moves to COLD. December 2025 stays HOT.
    /// </summary>
    private async Task<IlmTestDatabase?> SetupAsync(string operation, bool primaryKey)
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return null;
        if (primaryKey) await db.ExecuteAsync("ALTER TABLE public.sales ADD PRIMARY KEY (id, sale_date)");
        if (operation == "merge")
        {
            await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-11-01", db.Hot);
            await db.AddMonthAsync(2023, 11, db.Hot);
        }
        else
        {
            await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", db.Hot);
        }
        await db.AddMonthAsync(2025, 11, db.Hot);
        return db;
    }

    private static IlmRunRequest Request(IlmTestDatabase db) =>
        new(db.Target, "sales") { Policy = db.Policy, AsOf = DateOnly.Parse(AsOf) };

    /// <summary>
    /// Starts the runner process, waits until it stops before statement point <paramref name="at"/>, kills its process
    /// tree and waits until its sessions are gone from the server (the server rolls back what they had open).
    /// </summary>
    private async Task KillRunnerBeforeAsync(IlmTestDatabase db, int at, string context)
    {
        var policy = Path.Combine(Path.GetTempPath(), $"ilm-kill-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(policy, PolicyJson(db));
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[] { RunnerDll(), policy, AsOf, at.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(a);
            start.Environment["PARTITIONOPS_CONNECTION"] =
                new NpgsqlConnectionStringBuilder(db.ConnectionString) { ApplicationName = RunnerApplication }.ConnectionString;
            using var runner = Process.Start(start)!;
            var errors = runner.StandardError.ReadToEndAsync();
            var seen = new List<string>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (true)
            {
                var line = await runner.StandardOutput.ReadLineAsync(timeout.Token);
                if (line is null)
                    Assert.Fail($"{context}: the runner ended without stopping: {string.Join(" | ", seen)} {await errors}");
                seen.Add(line!);
                if (line!.StartsWith($"STOPPED {at} ", StringComparison.Ordinal)) break;
            }
            runner.Kill(entireProcessTree: true);
            await runner.WaitForExitAsync();
        }
        finally
        {
            File.Delete(policy);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await db.ScalarAsync<long>(
                   $"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{RunnerApplication}'") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{context}: the killed runner's sessions are still on the server");
            await Task.Delay(25);
        }
    }

    private static string PolicyJson(IlmTestDatabase db) => $$"""
        { "tier_config": { "enabled": true, "auto_merge": true, "strategy": "incremental", "merge_method": "rebuild",
            "hot":  { "interval": "MONTHLY", "tablespace": "{{db.Hot}}", "compression": "NONE", "age_months": 24 },
            "warm": { "interval": "YEARLY", "tablespace": "{{db.Warm}}", "compression": "NONE", "age_months": 60,
                      "merge_monthly": true },
            "cold": { "interval": "YEARLY", "tablespace": "{{db.Cold}}", "compression": "NONE", "merge_monthly": true } } }
        """;

    /// <summary>The runner built beside these tests (the project reference builds it in the same configuration).</summary>
    private static string RunnerDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "PartitionOps.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net8.0/
        var path = Path.Combine(dir!.FullName, "tests", "PartitionOps.IlmKillRunner", "bin", configuration, "net8.0",
            "PartitionOps.IlmKillRunner.dll");
        Assert.True(File.Exists(path), $"{path} is missing: build the solution first");
        return path;
    }
}
