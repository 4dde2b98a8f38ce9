using System.Text;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.Engine.Tests.Backfill.PostgreSql;

/// <summary>
/// Every statement the PostgreSQL backfill dialect emits for the fhir profile, compared with a reviewed
/// golden file (FluentMigrator style). After an intended SQL change, regenerate with
/// PARTITIONOPS_UPDATE_GOLDEN=1 and review the diff like code.
/// </summary>
public sealed class PostgreSqlBackfillGoldenFileTests
{
    private static readonly BackfillTable Fhir = new("public", BackfillProfile.Fhir, "partitionops");

    public static IEnumerable<(string Name, IReadOnlyList<SqlStatement> Statements)> EveryStatement()
    {
        var d = new PostgreSqlBackfillDialect();
        var p = BackfillProfile.Fhir;
        TablePartition partition = new("public", "Resource_1");
        yield return ("CreateControlTables", d.CreateControlTables("partitionops"));
        yield return ("ControlTablesExist", [d.ControlTablesExist("partitionops")]);
        yield return ("InsertRun", [d.InsertRunText("partitionops")]);
        yield return ("LatestRun", [d.LatestRunText("partitionops")]);
        yield return ("SetRunStatus", [d.SetRunStatusText("partitionops")]);
        yield return ("InsertCheckpoint", [d.InsertCheckpointText("partitionops")]);
        yield return ("ReadCheckpoints", [d.ReadCheckpointsText("partitionops")]);
        yield return ("UpdateCheckpointStatus", [d.UpdateCheckpointStatusText("partitionops")]);
        yield return ("AddLockWaits", [d.AddLockWaitsText("partitionops")]);
        yield return ("SetStopFlag", [d.SetStopFlagText("partitionops")]);
        yield return ("ReadStopFlag", [d.ReadStopFlagText("partitionops")]);
        yield return ("TryAcquireAppLock", [d.TryAcquireAppLockText()]);
        yield return ("ReleaseAppLock", [d.ReleaseAppLockText()]);
        yield return ("ServerInfo", [d.ServerInfo()]);
        yield return ("SchemaExists", [d.SchemaExistsText()]);
        yield return ("TableInfo", [d.TableInfoText()]);
        yield return ("ViewBaseTables", [d.ViewBaseTablesText()]);
        yield return ("TableRowEstimate", [d.TableRowEstimateText()]);
        yield return ("MaxRowBytes", [d.MaxRowBytesText()]);
        yield return ("Columns", [d.ColumnsText()]);
        yield return ("Partitions", [d.PartitionsText()]);
        yield return ("Indexes", [d.IndexesText()]);
        yield return ("LookupTypes", [d.LookupTypes(Fhir)]);
        yield return ("EstimatedRowsPerType", [d.EstimatedRowsPerTypeText(Fhir)]);
        yield return ("Permissions", [d.PermissionsText()]);
        yield return ("ThrottleSignals", [d.ThrottleSignals()]);
        yield return ("SetLockTimeout", [d.SetLockTimeout(TimeSpan.FromSeconds(5))]);
        yield return ("AddPartitionColumn", [d.AddPartitionColumn(Fhir)]);
        yield return ("BuildFilteredIndex plain",
            d.BuildFilteredIndex(Fhir, new(p.DefaultIndexName, p.IndexColumns, p.DefaultValue), [], [], new()));
        yield return ("BuildFilteredIndex partitioned",
            d.BuildFilteredIndex(Fhir, new(p.SystemIndexName, p.IndexColumns, p.SystemValue), [], [partition], new()));
        TablePartition sub = new("public", "Resource_sys") { IsLeaf = false, ParentSchema = "public", ParentName = "Resource" };
        TablePartition leaf = new("public", "Resource_sys_h0") { ParentSchema = "public", ParentName = "Resource_sys", Level = 2 };
        yield return ("BuildFilteredIndex sub-partitioned",
            d.BuildFilteredIndex(Fhir, new(p.SystemIndexName, p.IndexColumns, p.SystemValue), [],
            [partition with { ParentSchema = "public", ParentName = "Resource" }, sub, leaf], new()));
        var prototype = new BackfillTable("public", BackfillProfile.FhirPrototype, "partitionops");
        foreach (var index in BackfillProfile.FhirPrototype.FilteredIndexes().Skip(2))
            yield return ($"BuildFilteredIndex prototype {index.Name}", d.BuildFilteredIndex(prototype, index, [], [], new()));
        yield return ("BuildFilteredIndex prototype partitioned",
            d.BuildFilteredIndex(prototype, BackfillProfile.FhirPrototype.FilteredIndexes()[3], [],
            [partition], new()));
        yield return ("HighWaterMark", [d.HighWaterMarkText(Fhir)]);
        yield return ("Batch", [d.BatchText(Fhir)]);
        yield return ("Sweep", [d.SweepText(Fhir)]);
        yield return ("ExactCounts", [d.ExactCountsText(Fhir)]);
        yield return ("Misplaced", [d.MisplacedText(Fhir, 7)]);
        yield return ("MisplacedSinceRun", [d.MisplacedSinceRunText(Fhir, 7)]);
    }

    public static string Render()
    {
        var text = new StringBuilder();
        foreach (var (name, statements) in EveryStatement())
        {
            text.Append("-- ").Append(name).Append('\n');
            foreach (var s in statements) text.Append(s.Text.Replace("\r\n", "\n")).Append(";\n");
            text.Append('\n');
        }
        return text.ToString();
    }

    [Fact]
    public void Every_statement_matches_the_reviewed_golden_file()
    {
        var path = Path.Combine(SourceDirectory(), "Golden", "postgresql-backfill.sql");
        var actual = Render();
        if (Environment.GetEnvironmentVariable("PARTITIONOPS_UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"golden file missing: {path} (run once with PARTITIONOPS_UPDATE_GOLDEN=1 and review it)");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n"), actual);
    }

    [Fact]
    public void The_golden_file_covers_every_method_of_the_dialect_contract()
    {
        var covered = EveryStatement().Select(x => x.Name.Split(' ')[0]).ToHashSet();
        var methods = typeof(IBackfillDialect).GetMethods().Where(m => m.ReturnType != typeof(string))
            .Select(m => m.Name).Where(n => !n.StartsWith("get_", StringComparison.Ordinal)).ToHashSet();
        Assert.Empty(methods.Except(covered));
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string file = "") =>
        Path.GetDirectoryName(file)!;
}
