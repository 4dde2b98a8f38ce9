using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Ilm;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Validation;

/// <summary>
/// Names that try to end a comment or a statement (a line break, "*/", "--", quotes) reach a saved plan only as data:
/// the plan text of ilm plan, ilm run --dry-run and backfill start --dry-run, split the way PostgreSQL reads a script,
/// holds exactly the statements the plan meant, in order, and nothing else; the table is still there afterwards.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PlanInjectionTests(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>Partition and type names, each a way out of a "--" or "/* */" comment or a quoted name.</summary>
    public static readonly string[] EvilNames =
    [
        "odd\nDROP TABLE public.sales;\n",
        "x*/ DROP TABLE public.sales; /*",
        "y -- z\r\nDROP TABLE public.sales;",
        "q\"uote'd; DROP TABLE public.sales; --",
        "sep\u2028DROP TABLE public.sales;",
    ];

    [Fact]
    public async Task Ilm_plan_and_dry_run_text_holds_only_the_planned_statements()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        // Real work for the plan (months that are WARM at the as-of date) and, between them, partitions with hostile names.
        await db.AddMonthAsync(2020, 1, db.Hot);
        await db.AddMonthAsync(2020, 2, db.Hot);
        var day = 1;
        foreach (var name in EvilNames)
        {
            var from = new DateTime(2021, 1, day);
            await db.ExecuteAsync($"CREATE TABLE public.{PostgreSqlQuote(name)} PARTITION OF public.sales FOR VALUES FROM " +
                                  $"('{IlmTestDatabase.Date(from)}') TO ('{IlmTestDatabase.Date(from.AddDays(1))}') TABLESPACE {db.Hot}");
            day++;
        }
        var policyFile = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(policyFile, "{\"tier_config\": {" +
            $"\"hot\": {{\"tablespace\": \"{db.Hot}\"}}, \"warm\": {{\"tablespace\": \"{db.Warm}\"}}, \"cold\": {{\"tablespace\": " +
                $"\"{db.Cold}\"}}" + "}}");
        var asOf = new DateOnly(2025, 6, 1);
        var meant = await new IlmService()
            .PlanAsync(new IlmPlanRequest { Target = db.Target, Table = "sales", Policy = db.Policy, AsOf = asOf });
        var expected = meant.Steps.SelectMany(s => s.Statements).Select(s => PostgresScript.Normalize(s.Text)).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(EvilNames.Length, meant.Plan.Actions.Count(a => EvilNames.Contains(a.Partition)));

        foreach (var verb in new[] { new[] { "plan" }, new[] { "run", "--dry-run" } })
        {
            var run = await CliRun.RunAsync(
                ["ilm", .. verb, "--provider", "postgresql", "--connection", db.ConnectionString, "--table", "sales",
                "--policy", policyFile, "--as-of", "2025-06-01"]);
            Assert.True(run.ExitCode == 0, run.ToString());
            AssertOnlyTheseStatements(run.Stdout, expected);
            // Every hostile name is shown, escaped, on one comment line.
            foreach (var name in EvilNames) Assert.Contains(PlanComment.Safe(name), run.Stdout);
        }
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'sales'"));
    }

    [Fact]
    public async Task Backfill_dry_run_text_holds_only_the_planned_statements()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 1_000, types: 8);
        // Type names in the lookup and the profile: they reach the plan's step descriptions and parameter notes.
        // (Line breaks in type names are refused by the profile; these are the names it must accept and still show safely.)
        string[] types = ["ValueSet", "x*/ DROP TABLE public.sales; /*", "y -- z; DROP TABLE public.sales;", "q\"uote'd; DROP TABLE x; --"];
        var id = 900;
        foreach (var type in types.Skip(1))
            await db.ExecAsync($"""INSERT INTO "ResourceType" ("ResourceTypeId", "Name") VALUES ({id++}, '{type.Replace("'", "''")}')""");
        await db.ExecAsync("CREATE TABLE public.sales (id int)");
        var profile = BackfillProfile.Fhir with { SystemTypes = types };
        var profileFile = Path.Combine(Path.GetTempPath(), $"profile-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(profileFile, profile.ToJson());

        var meant = await new BackfillService().StartAsync(new BackfillRequest
        {
            Scope = new BackfillScope { Target = db.Target, Profile = profile },
            DryRun = true,
        });
        var expected = meant.Plan!.Statements.Select(s => PostgresScript.Normalize(s.Text)).ToList();
        Assert.NotEmpty(expected);

        var run = await CliRun.RunAsync("backfill", "start", "--provider", "postgresql", "--connection", db.ConnectionString,
            "--profile", profileFile, "--dry-run");
        Assert.True(run.ExitCode == 0, run.ToString());
        AssertOnlyTheseStatements(run.Stdout, expected);
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'sales'"));
    }

    private static void AssertOnlyTheseStatements(string planText, IReadOnlyList<string> expected)
    {
        var parsed = PostgresScript.Statements(planText);
        Assert.Equal(expected, parsed);
        Assert.DoesNotContain(parsed, s => s.Contains("DROP TABLE public.sales", StringComparison.OrdinalIgnoreCase));
    }

    private static string PostgreSqlQuote(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";
}
