using PartitionOps.Engine.Backfill;
using PartitionOps.Demo;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// validate tells rows written after the run (the application does not write the column: new system rows get the
/// default) apart from rows the run missed, by the run's high-water marks; both still fail the check (exit 3).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillValidateTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Validate_counts_rows_written_after_the_run_apart_from_rows_it_missed_and_a_rerun_places_them()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var service = new BackfillService();
        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request())).Status);

        // After the run: the application inserts 30 ValueSet and 20 CodeSystem rows (keys above the marks, default value).
        await using (var c = await db.OpenAsync())
        {
            await FhirSample.InsertNewRowsAsync(c, "public", 4, 30);
            await FhirSample.InsertNewRowsAsync(c, "public", 5, 20);
        }
        // And 5 rows the run "missed": existing ValueSet rows at or below the mark, put back to the default.
        await db.ExecAsync("""
            UPDATE "Resource" SET "PartitionId" = 2 WHERE "ResourceTypeId" = 4
              AND "ResourceSurrogateId" IN (SELECT "ResourceSurrogateId" FROM "Resource" WHERE "ResourceTypeId" = 4 ORDER BY 1 LIMIT 5)
            """);

        var report = await service.ValidateAsync(db.Scope);

        Assert.False(report.Passed);
        Assert.Equal(55, report.MisplacedSystemRows);
        Assert.Equal(50, report.WrittenAfterRunRows);
        Assert.Equal(5, report.MissedSystemRows);
        var valueSet = report.Types.Single(t => t.TypeName == "ValueSet");
        Assert.Equal((35L, 30L, 5L), (valueSet.MisplacedRows, valueSet.WrittenAfterRun, valueSet.MissedRows));
        Assert.Contains("50 were written after run", report.Summary);
        Assert.Contains("5 were missed", report.Summary);

        // The command line keeps DESIGN's contract (exit 3 when any row is misplaced) and reports the two counts.
        var cli = await CliRun.BackfillAsync("validate", db.ConnectionString, "--json");
        Assert.True(cli.ExitCode == 3, cli.ToString());
        Assert.Equal(50, cli.Json().GetProperty("writtenAfterRunRows").GetInt64());
        Assert.Equal(5, cli.Json().GetProperty("missedSystemRows").GetInt64());

        // A rerun starts where the run ended: it catches up the new rows above the marks, and its sweep behind the
        // checkpoint places the missed ones too.
        var rerun = await service.StartAsync(db.Request());
        Assert.Equal(BackfillStatus.Done, rerun.Status);
        Assert.True((await service.ValidateAsync(db.Scope)).Passed);
    }

    [Fact]
    public async Task With_only_new_rows_after_the_run_validate_fails_naming_them_as_new_and_a_scheduled_rerun_makes_it_pass()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var service = new BackfillService();
        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request())).Status);
        await using (var c = await db.OpenAsync())
            await FhirSample.InsertNewRowsAsync(c, "public", 1, 10);

        var report = await service.ValidateAsync(db.Scope);
        Assert.Equal((10L, 10L, 0L), (report.MisplacedSystemRows, report.WrittenAfterRunRows, report.MissedSystemRows));
        Assert.DoesNotContain("investigate", report.Summary);

        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request())).Status);
        Assert.True((await service.ValidateAsync(db.Scope)).Passed);
    }
}
