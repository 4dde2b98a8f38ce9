using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

[Collection(PostgresCollection.Name)]
public sealed class BackfillUndoAndInputTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    [Fact]
    public async Task Undo_of_chosen_types_then_all_puts_rows_back_with_the_batched_engine()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var system = await db.SystemRowsAsync();
        await _service.StartAsync(db.Request());

        var scoped = db.Request() with { Scope = db.Scope with { ResourceTypes = ["ValueSet"] } };
        var one = await _service.UndoAsync(scoped);
        Assert.Equal(BackfillStatus.Done, one.Status);
        var valueSetRows = await db.ScalarAsync<long>(
            """SELECT count(*) FROM "Resource" """ +
            """WHERE "ResourceTypeId" = (SELECT "ResourceTypeId" FROM "ResourceType" WHERE "Name" = 'ValueSet')""");
        Assert.Equal(valueSetRows, one.RowsUpdated);
        Assert.Equal(system - valueSetRows, await db.RowsAtAsync(1));
        var integrity = await _service.ValidateAsync(db.Scope);
        Assert.False(integrity.Passed);
        Assert.Equal(valueSetRows, integrity.MisplacedSystemRows);
        Assert.Equal(valueSetRows, integrity.Types.Single(t => t.TypeName == "ValueSet").MisplacedRows);
        // Said as what happened: an undo moved them back, not "no backfill run yet".
        Assert.Null(integrity.RunId);
        Assert.Equal(one.RunId, integrity.UndoRunId);
        Assert.Contains($"(undo run {one.RunId} moved them back; no backfill run since)", integrity.Summary, StringComparison.Ordinal);

        var all = await _service.UndoAsync(db.Request());
        Assert.Equal(BackfillStatus.Done, all.Status);
        Assert.Equal(system - valueSetRows, all.RowsUpdated);
        Assert.Equal(0, await db.RowsAtAsync(1));
        // The column and indexes stay: undo only moves rows.
        Assert.Equal(1L, await db.ScalarAsync<long>(
            """SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'"""));

        // And a backfill after an undo walks again rather than trusting old checkpoints.
        var again = await _service.StartAsync(db.Request());
        Assert.Equal(system, again.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());
    }

    [Fact]
    public async Task A_dry_run_shows_every_statement_and_changes_nothing()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var result = await _service.StartAsync(db.Request() with { DryRun = true });

        Assert.Equal(BackfillStatus.Planned, result.Status);
        var plan = Assert.IsType<BackfillPlan>(result.Plan);
        Assert.Equal(["control", "column", "index", "index", "backfill"], plan.Steps.Select(s => s.Phase));
        Assert.Contains(plan.Statements, s => s.Text.Contains("ADD COLUMN IF NOT EXISTS \"PartitionId\" smallint NOT NULL DEFAULT 2"));
        Assert.Contains(plan.Statements, s => s.Text.Contains("CREATE UNIQUE INDEX CONCURRENTLY"));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM information_schema.columns WHERE column_name = 'PartitionId'"));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'"));
    }

    public static TheoryData<string, string> BadScopes => new()
    {
        { "schema", "nosuchschema" },
        { "table", "NoSuchTable" },
        { "key", "NoSuchKey" },
        { "type", "Patient" },
        { "type", "NoSuchType" },
        { "injection", "public\"; DROP TABLE \"Resource\"; --" },
        { "system", "NotAType" },
        { "lookup", "NoLookup" },
    };

    [Theory]
    [MemberData(nameof(BadScopes))]
    public async Task Bad_input_names_the_bad_value_and_changes_nothing(string what, string value)
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var scope = db.Scope;
        scope = what switch
        {
            "schema" or "injection" => scope with { Schema = value },
            "table" => scope with { Profile = BackfillProfile.Fhir with { Table = value } },
            "key" => scope with { Profile = BackfillProfile.Fhir with { KeyColumn = value } },
            "type" => scope with { ResourceTypes = [value] },
            "system" => scope with { Profile = BackfillProfile.Fhir with { SystemTypes = [.. BackfillProfile.FhirSystemTypes, value] } },
            "lookup" => scope with { Profile = BackfillProfile.Fhir with { LookupTable = value } },
            _ => throw new ArgumentException(what),
        };

        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => _service.StartAsync(db.Request() with { Scope = scope }));

        Assert.Contains(what == "injection" ? "public\"; DROP" : value, error.Message);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM information_schema.columns WHERE column_name = 'PartitionId'"));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'"));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'Resource'"));
    }

    [Fact]
    public async Task A_partition_column_of_the_wrong_type_is_refused_by_name()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        await db.ExecAsync("""ALTER TABLE "Resource" ADD COLUMN "PartitionId" text""");
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => _service.StartAsync(db.Request()));
        Assert.Contains("PartitionId", error.Message);
        Assert.Contains("text", error.Message);
    }

    [Fact]
    public async Task A_negative_batch_size_is_refused_before_connecting()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => _service.StartAsync(db.Request(batchSize: -5)));
        Assert.Contains("-5", error.Message);
        Assert.Contains("BatchSize", error.Message);
    }

    [Fact]
    public async Task An_unreachable_server_is_a_failure_with_the_target_and_no_password()
    {
        var target = new PartitionOps.Engine.Providers.DatabaseTarget(PartitionOps.Engine.Providers.PostgreSql.PostgreSqlProvider.Instance,
            "Host=/nonexistent-partitionops;Port=5999;Username=u;Password=secret-pw;Database=x;Timeout=2");
        var error = await Assert.ThrowsAsync<ConnectionFailedException>(() =>
            _service.StartAsync(new BackfillRequest { Scope = new BackfillScope { Target = target } }));
        Assert.Contains("could not connect", error.Message);
        Assert.Contains("/nonexistent-partitionops", error.Message); // the host, so the reader knows which server
        Assert.DoesNotContain("secret-pw", error.Message);
    }

    [Fact]
    public async Task Progress_before_any_run_reports_none_with_catalog_estimates()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var report = await _service.GetProgressAsync(db.Scope);
        Assert.Equal("none", report.Status);
        Assert.Equal(7, report.Types.Count);
        Assert.All(report.Types, t => Assert.True(t.EstimatedRows > 0, $"{t.TypeName} has no estimate"));

        await _service.StartAsync(db.Request());
        var exact = await _service.GetProgressAsync(db.Scope, exact: true);
        Assert.Equal(BackfillStatus.Done, exact.Status);
        Assert.Equal(100, exact.PercentComplete);
        Assert.All(exact.Types, t => Assert.Equal(0, t.ExactRemainingRows));
        Assert.Equal(await db.SystemRowsAsync(), exact.Types.Sum(t => t.ExactTotalRows));
    }

    [Fact]
    public async Task Prerequisites_report_server_permissions_and_a_sample_rate_without_changing_anything()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        await db.ExecAsync("""ALTER TABLE "Resource" ADD COLUMN "PartitionId" smallint NOT NULL DEFAULT 2""");
        var report = await _service.TestPrerequisitesAsync(db.Request());
        Assert.True(report.Passed, string.Join("; ", report.Checks.Where(c => !c.Passed).Select(c => c.Name + ": " + c.Detail)));
        Assert.Contains(report.Checks, c => c.Name == "permission alter_table");
        Assert.True(report.SampleRowsPerSecond > 0);
        Assert.NotNull(report.EstimatedDuration);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'"));
        Assert.Equal(0L, await db.RowsAtAsync(1));
    }
}
