using System.Diagnostics;
using System.Text.Json;
using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>`partitionops backfill ...` against a real PostgreSQL: exit codes, --json documents, bad input.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillCliTests(PostgresFixture postgres)
{

    [Fact]
    public async Task Start_progress_validate_and_undo_round_trip_with_json()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();

        var start = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--batch-size", "500", "--parallel", "2");
        Assert.True(start.ExitCode == 0, start.ToString());
        var result = start.Json();
        Assert.Equal("done", result.GetProperty("status").GetString());
        Assert.Equal(system, result.GetProperty("rowsUpdated").GetInt64());
        Assert.Equal(7, result.GetProperty("types").GetArrayLength());
        Assert.Matches(@"^\d\d:\d\d:\d\d$", result.GetProperty("elapsed").GetString());
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Contains("done", start.Stderr); // plain progress lines go to stderr

        var progress = await CliRun.BackfillAsync("progress", db.ConnectionString, "--json", "--exact");
        Assert.True(progress.ExitCode == 0, progress.ToString());
        var report = progress.Json();
        Assert.Equal("done", report.GetProperty("status").GetString());
        Assert.Equal(system, report.GetProperty("rowsUpdated").GetInt64());
        Assert.All(report.GetProperty("types").EnumerateArray(), t => Assert.Equal(0, t.GetProperty("exactRemainingRows").GetInt64()));

        var humanProgress = await CliRun.BackfillAsync("progress", db.ConnectionString);
        Assert.Equal(0, humanProgress.ExitCode);
        Assert.Contains("ValueSet", humanProgress.Stdout);

        var validate = await CliRun.BackfillAsync("validate", db.ConnectionString);
        Assert.True(validate.ExitCode == 0, validate.ToString());
        Assert.Contains("passed", validate.Stdout);

        // One system row put back by hand: the check finds it (exit 3) and names the type.
        await db.ExecAsync("""
            UPDATE "Resource" SET "PartitionId" = 2
            WHERE ("ResourceTypeId", "ResourceSurrogateId") = (SELECT "ResourceTypeId", min("ResourceSurrogateId") FROM "Resource"
                   WHERE "ResourceTypeId" = (SELECT "ResourceTypeId" FROM "ResourceType" WHERE "Name" = 'ValueSet') GROUP BY 1)
            """);
        var broken = await CliRun.BackfillAsync("validate", db.ConnectionString, "--json");
        Assert.True(broken.ExitCode == 3, broken.ToString());
        var integrity = broken.Json();
        Assert.False(integrity.GetProperty("passed").GetBoolean());
        Assert.Equal(1, integrity.GetProperty("misplacedSystemRows").GetInt64());
        var valueSet = integrity.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("typeName").GetString() == "ValueSet");
        Assert.Equal(1, valueSet.GetProperty("misplacedRows").GetInt64());
        var brokenHuman = await CliRun.BackfillAsync("validate", db.ConnectionString);
        Assert.Equal(3, brokenHuman.ExitCode);
        Assert.Contains("FAILED", brokenHuman.Stdout);

        // Undo one type, then all: every row back at the default value.
        var undoOne = await CliRun.BackfillAsync("undo", db.ConnectionString, "--json", "--resource-type", "CodeSystem");
        Assert.True(undoOne.ExitCode == 0, undoOne.ToString());
        Assert.Equal(1, undoOne.Json().GetProperty("types").GetArrayLength());
        var undo = await CliRun.BackfillAsync("undo", db.ConnectionString);
        Assert.True(undo.ExitCode == 0, undo.ToString());
        Assert.Contains("undo done", undo.Stdout);
        Assert.Equal(0, await db.RowsAtAsync(1));
        Assert.Equal(await db.TotalRowsAsync(), await db.RowsAtAsync(2));
    }

    [Fact]
    public async Task Check_reports_the_pre_flight_changes_nothing_and_is_exit_3_when_a_check_fails()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        const string columnExists =
            """SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'""";
        var columnBefore = await db.ScalarAsync<long>(columnExists);

        Assert.Equal(0L, columnBefore);
        // Before phase 1 there is no column to sample a batch on: the checks still run, and say so.
        var early = await CliRun.BackfillAsync("check", db.ConnectionString);
        Assert.True(early.ExitCode == 0, early.ToString());
        Assert.Contains("sample batch: not taken", early.Stdout);
        Assert.Matches(@"public\.Resource on PostgreSQL \d", early.Stdout);
        Assert.DoesNotContain("PostgreSQL PostgreSQL", early.Stdout);

        await db.ExecAsync("""ALTER TABLE "Resource" ADD COLUMN "PartitionId" smallint NOT NULL DEFAULT 2""");
        var check = await CliRun.BackfillAsync("check", db.ConnectionString, "--json", "--batch-size", "200");
        Assert.True(check.ExitCode == 0, check.ToString());
        var report = check.Json();
        Assert.True(report.GetProperty("passed").GetBoolean());
        var names = report.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains(names, n => n!.StartsWith("permission ", StringComparison.Ordinal));
        Assert.True(report.GetProperty("sampleRowsPerSecond").GetDouble() > 0);
        // The sample batch is rolled back with the control tables it needed: no row moved, no schema left.
        Assert.Equal(0, await db.RowsAtAsync(1));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'"));

        await db.ExecAsync("""DELETE FROM "ResourceType" WHERE "Name" = 'CodeSystem'""");
        var failed = await CliRun.BackfillAsync("check", db.ConnectionString);
        Assert.True(failed.ExitCode == 3, failed.ToString());
        Assert.Contains("FAIL", failed.Stdout);
        Assert.Contains("CodeSystem", failed.Stdout);
    }

    [Fact]
    public async Task Dry_run_prints_every_statement_and_changes_nothing()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 5_000, types: 10);

        var human = await CliRun.BackfillAsync("start", db.ConnectionString, "--dry-run");
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("ALTER TABLE", human.Stdout);
        Assert.Contains("CREATE UNIQUE INDEX", human.Stdout);
        Assert.Contains("IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version", human.Stdout);

        var json = await CliRun.BackfillAsync("start", db.ConnectionString, "--dry-run", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var plan = json.Json();
        Assert.Equal(PartitionOps.Engine.Backfill.BackfillStatus.Planned, plan.GetProperty("status").GetString());
        Assert.True(plan.GetProperty("plan").GetProperty("steps").GetArrayLength() >= 3);

        var undo = await CliRun.BackfillAsync("undo", db.ConnectionString, "--dry-run");
        // The column does not exist yet: undo has nothing to plan against, or plans without touching anything.
        Assert.True(undo.ExitCode is 0 or 2, undo.ToString());

        await AssertUntouchedAsync(db);
    }

    [Fact]
    public async Task A_max_duration_pause_is_exit_0_and_the_rerun_resumes()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 10_000, types: 10);
        var system = await db.SystemRowsAsync();

        var paused = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--skip-indexes",
            "--batch-size", "10", "--target-batch-ms", "0", "--delay-ms", "50", "--max-duration", "00:00:01");
        Assert.True(paused.ExitCode == 0, paused.ToString());
        var first = paused.Json();
        Assert.Equal("paused", first.GetProperty("status").GetString());
        Assert.Contains("resume", paused.Stderr);
        Assert.True(first.GetProperty("rowsUpdated").GetInt64() < system);

        var stop = await CliRun.BackfillAsync("stop", db.ConnectionString, "--json");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        var flagged = stop.Json();
        Assert.True(flagged.GetProperty("stopRequested").GetBoolean());
        Assert.Equal("public.Resource", flagged.GetProperty("table").GetString());
        Assert.Equal("PartitionId", flagged.GetProperty("column").GetString());
        Assert.Equal(first.GetProperty("runId").GetInt64(), flagged.GetProperty("runId").GetInt64());
        Assert.Equal("paused", flagged.GetProperty("runStatus").GetString());
        var humanStop = await CliRun.BackfillAsync("stop", db.ConnectionString);
        Assert.True(humanStop.ExitCode == 0, humanStop.ToString());
        Assert.Contains($"public.Resource.PartitionId: stop requested (flag in partitionops.backfill_control); run " +
            $"{first.GetProperty("runId").GetInt64()} is paused, not running",
            humanStop.Stdout);

        var resumed = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--skip-indexes", "--batch-size", "2000");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var second = resumed.Json();
        Assert.Equal("done", second.GetProperty("status").GetString());
        Assert.Equal(first.GetProperty("runId").GetInt64(), second.GetProperty("runId").GetInt64());
        Assert.Equal(system, second.GetProperty("rowsUpdated").GetInt64());
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task Cancelling_pauses_after_a_whole_batch_exit_1_and_the_rerun_finishes()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 10_000, types: 10);
        var system = await db.SystemRowsAsync();
        // Phases 1 and 2 first, so the cancel lands in the batched walk.
        var prepare = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--resource-type", "SearchParameter");
        Assert.True(prepare.ExitCode == 0, prepare.ToString());
        var prepared = prepare.Json().GetProperty("rowsUpdated").GetInt64();

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));
        var code = await PartitionOps.Cli.CliApp.RunAsync(
            ["backfill", "start", "--provider", "postgresql", "--connection", db.ConnectionString, "--json",
             "--batch-size", "10", "--target-batch-ms", "0", "--delay-ms", "50"], stdout, stderr, cancel.Token);
        var cancelled = new CliRun(code, stdout.ToString(), stderr.ToString());
        Assert.True(cancelled.ExitCode == 1, cancelled.ToString());
        var result = cancelled.Json();
        Assert.Equal("paused", result.GetProperty("status").GetString());
        Assert.Equal("cancelled", result.GetProperty("stopReason").GetString());
        // Every batch committed whole: the checkpoints agree with the table.
        var moved = await db.RowsAtAsync(1);
        Assert.True(moved < system, $"{moved} of {system} moved before the cancel");
        Assert.Equal(moved - prepared, result.GetProperty("rowsUpdated").GetInt64());

        var rerun = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--batch-size", "2000");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Equal("done", rerun.Json().GetProperty("status").GetString());
        Assert.Equal(system, await db.RowsAtAsync(1));
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task A_type_that_fails_is_exit_1_and_names_the_cause()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 5_000, types: 10);
        await db.ExecAsync("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'ValueSet is read-only today'; END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON "Resource_4" FOR EACH ROW EXECUTE FUNCTION refuse();
            """);

        var run = await CliRun.BackfillAsync("start", db.ConnectionString, "--json", "--skip-indexes");
        Assert.True(run.ExitCode == 1, run.ToString());
        var result = run.Json();
        Assert.Equal("failed", result.GetProperty("status").GetString());
        Assert.Contains("read-only", result.GetProperty("stopReason").GetString());
        var types = result.GetProperty("types").EnumerateArray()
            .ToDictionary(t => t.GetProperty("typeName").GetString()!, t => t.GetProperty("status").GetString());
        Assert.Equal("failed", types["ValueSet"]);
        Assert.Equal(["ValueSet"], result.GetProperty("failedTypes").EnumerateArray().Select(t => t.GetString()));
        // One type failing does not stop the others: they all finish.
        Assert.All(types.Where(t => t.Key != "ValueSet"), t => Assert.Equal("done", t.Value));
        Assert.Contains("failed for ValueSet: ValueSet failed: ", run.Stderr);
        Assert.Contains("read-only", run.Stderr);

        var human = await CliRun.BackfillAsync("start", db.ConnectionString, "--skip-indexes");
        Assert.True(human.ExitCode == 1, human.ToString());
        Assert.Contains("backfill failed for ValueSet (run ", human.Stdout);
        Assert.Contains("failed types are retried", human.Stdout);
    }

    [Fact]
    public async Task Bad_input_is_exit_2_names_the_bad_value_and_changes_nothing()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var cs = db.ConnectionString;
        var dir = Directory.CreateTempSubdirectory("partitionops-cli-");
        try
        {
            var missingTable = Path.Combine(dir.FullName, "missing-table.json");
            await File.WriteAllTextAsync(missingTable, """{ "table": "NoSuchTable" }""");
            var missingColumn = Path.Combine(dir.FullName, "missing-column.json");
            await File.WriteAllTextAsync(missingColumn, """{ "key_column": "NoSuchKey" }""");
            var injection = "public\"; DROP TABLE x; --";

            var cases = new (string[] Args, string Value)[]
            {
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--schema", "nosuch"], "nosuch"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--profile", missingTable], "NoSuchTable"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--profile", missingColumn], "NoSuchKey"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--profile",
                    Path.Combine(dir.FullName, "absent.json")], "absent.json"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--resource-type", "Patientt"], "Patientt"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--schema", injection], injection),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--control-schema", "bad name"], "bad name"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--batch-size", "-5"], "-5"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--batch-size", "abc"], "abc"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--parallel", "0"], "0"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--max-duration", "soon"], "soon"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--data-compression", "ZIP"], "ZIP"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--max-log-used", "150"], "150"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--max-replica-lag", "never"], "never"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--max-blocked-sessions", "-1"], "-1"),
                (["backfill", "start", "--provider", "nosuch", "--connection", cs], "nosuch"),
                (["backfill", "start", "--connection", cs], "--provider"),
                (["backfill", "start", "--provider", "postgresql", "--connection", cs, "--no-such-option"], "--no-such-option"),
                (["backfill", "start", "--provider", "postgresql", "--connection", "Host=localhost;Bogus Key=1"], "bogus key"),
                (["backfill", "validate", "--provider", "postgresql", "--connection", cs], "PartitionId"),
            };
            foreach (var (args, value) in cases)
            {
                var run = await CliRun.RunAsync(args);
                var label = string.Join(' ', args.Where(a => a != cs));
                Assert.True(run.ExitCode == 2, $"{label}: {run}");
                Assert.Contains(value, run.Stderr);

                var json = await CliRun.RunAsync([.. args, "--json"]);
                Assert.True(json.ExitCode == 2, $"{label} --json: {json}");
                var error = json.Json().GetProperty("error");
                Assert.True(error.GetProperty("message").GetString()!.Contains(value) || error.GetProperty("value").GetString() == value,
                    $"{label}: {json}");
            }
            await AssertUntouchedAsync(db);

            // A partition column that exists with the wrong type is refused before anything else happens.
            await db.ExecAsync("""ALTER TABLE "Resource" ADD "PartitionId" text""");
            var wrongType = await CliRun.BackfillAsync("start", cs, "--json");
            Assert.True(wrongType.ExitCode == 2, wrongType.ToString());
            var wrong = wrongType.Json().GetProperty("error");
            Assert.Equal("invalid-input", wrong.GetProperty("kind").GetString());
            Assert.Equal("PartitionId", wrong.GetProperty("value").GetString());
            Assert.Contains("text", wrong.GetProperty("message").GetString());
            Assert.False(await ControlSchemaExistsAsync(db));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Timeout=5", "127.0.0.1")]
    [InlineData("Host=/nonexistent-partitionops;Port=5432;Timeout=5", "/nonexistent-partitionops")]
    public async Task An_unreachable_server_is_exit_1(string connectionString, string host)
    {
        var run = await CliRun.BackfillAsync("progress", connectionString, "--json");
        Assert.True(run.ExitCode == 1, run.ToString());
        var error = run.Json().GetProperty("error");
        Assert.Equal("failed", error.GetProperty("kind").GetString());
        Assert.Contains("could not connect", error.GetProperty("message").GetString());
        Assert.Contains(host, error.GetProperty("message").GetString());
        Assert.Contains("could not connect", run.Stderr);
        Assert.Contains(host, run.Stderr);
    }

    [Fact]
    public async Task The_connection_can_come_from_PARTITIONOPS_CONNECTION()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var before = Environment.GetEnvironmentVariable("PARTITIONOPS_CONNECTION");
        Environment.SetEnvironmentVariable("PARTITIONOPS_CONNECTION", db.ConnectionString);
        try
        {
            var run = await CliRun.RunAsync("backfill", "progress", "--provider", "postgresql", "--json");
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal("none", run.Json().GetProperty("status").GetString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("PARTITIONOPS_CONNECTION", before);
        }
    }

    [Fact]
    public async Task The_built_program_returns_the_exit_code_of_validate()
    {
        var dll = CliRun.FindDll();
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var start = await CliRun.BackfillAsync("start", db.ConnectionString, "--skip-indexes");
        Assert.True(start.ExitCode == 0, start.ToString());
        await db.ExecAsync(
            """UPDATE "Resource" SET "PartitionId" = 1 WHERE "ResourceTypeId" = (SELECT max("ResourceTypeId") FROM "ResourceType") """);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "backfill", "validate", "--provider", "postgresql", "--json" }) psi.ArgumentList.Add(a);
        psi.Environment["PARTITIONOPS_CONNECTION"] = db.ConnectionString;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        var run = new CliRun(process.ExitCode, await stdout, await stderr);
        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.True(run.Json().GetProperty("misplacedUserRows").GetInt64() > 0);
        Assert.DoesNotContain("\u001b[", run.Stderr); // no ANSI codes or progress bars when redirected
    }

    private static async Task AssertUntouchedAsync(BackfillHarness db)
    {
        Assert.Equal(0L, await db.ScalarAsync<long>("""
            SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'
            """));
        Assert.False(await ControlSchemaExistsAsync(db));
        Assert.Equal(0L, await db.ScalarAsync<long>("""SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'IX_Resource_%Partition%'"""));
    }

    private static async Task<bool> ControlSchemaExistsAsync(BackfillHarness db) =>
        await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'") > 0;
}
