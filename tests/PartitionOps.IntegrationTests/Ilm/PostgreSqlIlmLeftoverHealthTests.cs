using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// A run that dies mid-merge leaves its change capture behind (a trigger that logs every write into the months it was
/// merging and refuses their TRUNCATE, a log table, a rebuild table) until the next run drops them. ilm health shows each
/// with the statement that drops it now, and exits 3 from the CLI; while a run holds the table, the same objects are its
/// work in progress and health does not call them left behind.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmLeftoverHealthTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private readonly IlmService _ilm = new();

    private Task<IlmHealthReport> HealthAsync(IlmTestDatabase db) =>
        _ilm.HealthAsync(new IlmHealthRequest(db.Target) { Table = "sales", Policy = db.Policy });

    /// <summary>Kills its own backend before the first catch-up statement: the run dies with its capture in place.</summary>
    private sealed class DieAtCatchUp : IIlmStatementHook
    {
        public bool Fired { get; private set; }

        public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
        {
            if (Fired || point.Phase != "catch-up") return;
            Fired = true;
            await using var die = point.Connection.CreateCommand();
            die.CommandText = "SELECT pg_terminate_backend(pg_backend_pid())";
            await die.ExecuteNonQueryAsync(ct);
        }
    }

    [Fact]
    public async Task Objects_a_dead_run_left_are_alerts_with_their_fix_and_a_running_run_s_are_not()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.ExecuteAsync("ALTER TABLE public.sales ADD PRIMARY KEY (id, sale_date)");
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-11-01", db.Hot);
        await db.AddMonthAsync(2023, 11, db.Hot);
        Assert.True((await HealthAsync(db)).Passed, "health fails before anything happened");

        var hook = new DieAtCatchUp();
        try
        {
            await new IlmService(hook: hook).RunAsync(new IlmRunRequest(db.Target, "sales")
            {
                Policy = db.Policy, AsOf = DateOnly.Parse("2025-12-01"),
            });
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or PartitionOps.Engine.PartitionOpsException)
        {
            output.WriteLine($"the run died: {e.GetType().Name}");
        }
        Assert.True(hook.Fired, "the run never reached its catch-up");
        NpgsqlConnection.ClearAllPools();

        var report = await HealthAsync(db);
        Assert.False(report.Passed);
        Assert.False(report.RunInProgress);
        Assert.Equal(["function", "log table", "table"], report.Leftovers.Select(l => l.Kind));
        var function = Assert.Single(report.Alerts, c => c.Name == "left behind: function p_2023_ilm_capture");
        Assert.Contains("refuse TRUNCATE", function.Message);
        Assert.Contains("Fix now: DROP FUNCTION IF EXISTS \"public\".\"p_2023_ilm_capture\"() CASCADE;", function.Message);
        Assert.Contains(report.Alerts, c => c.Name == "objects left by failed runs" && c.Value == 3);

        var cli = await CliRun.RunAsync(
            ["ilm", "health", "--provider", "postgresql", "--connection", db.ConnectionString, "--table", "sales"]);
        Assert.True(cli.ExitCode == 3, cli.ToString());
        Assert.Contains("p_2023_ilm_capture", cli.Stdout + cli.Stderr);

        // While a run holds the table's lock, the objects are its work: no alert.
        var runLock = PostgreSqlIlmDialect.Instance.TryLockTable("public", "sales")!;
        await using (var other = new NpgsqlConnection(db.ConnectionString))
        {
            await other.OpenAsync();
            await using (var take = new NpgsqlCommand(runLock.Text, other))
            {
                take.Parameters.AddWithValue("lock_name", runLock.Parameters[0].Value!);
                Assert.True((bool)(await take.ExecuteScalarAsync())!);
            }
            var during = await HealthAsync(db);
            Assert.True(during.RunInProgress);
            Assert.True(during.Passed, string.Join("; ", during.Alerts.Select(a => a.Message)));
        }

        // The fixes health shows, run as shown, clear it; and the application's TRUNCATE works again.
        foreach (var alert in report.Alerts.Where(a => a.Name.StartsWith("left behind: ", StringComparison.Ordinal)))
            await db.ExecuteAsync(alert.Message[(alert.Message.IndexOf("Fix now: ", StringComparison.Ordinal) + 9)..]);
        var after = await HealthAsync(db);
        Assert.True(after.Passed, string.Join("; ", after.Alerts.Select(a => a.Message)));
        Assert.Empty(after.Leftovers);
        await db.ExecuteAsync("TRUNCATE public.p_2023_11");
    }
}
