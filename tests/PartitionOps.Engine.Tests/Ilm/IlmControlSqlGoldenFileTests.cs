using System.Text;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Providers.Oracle;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>
/// Every control-table statement (audit, execution log, config, monitoring) of each ILM dialect, with its
/// parameters, against a reviewed golden file. Regenerate with PARTITIONOPS_UPDATE_GOLDEN=1 after an
/// intended change and review the diff.
/// </summary>
public sealed class IlmControlSqlGoldenFileTests
{
    private static readonly MergeAuditEntry Audit = new("CMR", "SALES_PART", "P_2023_11", "P_2023", "FAILED", new string('x', 4100), 2.5m,
        42);
    private static readonly ExecutionLogEntry Log = new("CMR", "SALES_PART", "P_2023_11", "MOVE", "TBS_HOT", "TBS_WARM", "SUCCESS", null,
        1.25m, "ALTER TABLE ...");

    public static string Render(IIlmDialect d)
    {
        var statements = new (string Name, PartitionOps.Engine.Providers.SqlStatement Statement)[]
        {
            ("ReadConfig", d.ReadConfig("ctl")),
            ("InsertMergeAudit", d.InsertMergeAudit("ctl", Audit)),
            ("CompleteMergeAudit", d.CompleteMergeAudit(null, Audit)),
            ("MergeHistory all", d.MergeHistory("ctl", null, null, 50)),
            ("MergeHistory filtered", d.MergeHistory("ctl", "cmr", "sales_part", 20)),
            ("InProgressMerges", d.InProgressMerges("ctl", "CMR", "SALES_PART")),
            ("LatestMergeStatus", d.LatestMergeStatus("ctl", "CMR", "SALES_PART")),
            ("MergeStatistics all", d.MergeStatistics("ctl", null, 7)),
            ("MergeStatistics table", d.MergeStatistics("ctl", "sales_part", 7)),
            ("StaleFailedMerges all", d.StaleFailedMerges(null, null, 7)),
            ("StaleFailedMerges table", d.StaleFailedMerges("ctl", "sales_part", 7)),
            ("InsertExecutionLog", d.InsertExecutionLog("ctl", Log)),
            ("ControlTableExists", d.ControlTableExists("ctl", "dwh_ilm_config")),
            ("ControlTableExists default schema", d.ControlTableExists(null, "dwh_ilm_partition_merges")),
        };
        var text = new StringBuilder();
        foreach (var (name, s) in statements)
        {
            text.Append("-- ").Append(name).Append('\n').Append(s.Text.Replace("\r\n", "\n")).Append(";\n");
            foreach (var p in s.Parameters)
                text.Append("--   ").Append(p.Name).Append(" = ")
                    .Append(p.Value is string v && v.Length > 40 ? $"<{v.Length} chars>" : p.Value ?? "NULL").Append('\n');
            text.Append('\n');
        }
        return text.ToString();
    }

    [Theory]
    [InlineData("oracle")]
    [InlineData("postgresql")]
    public void Every_control_statement_matches_the_reviewed_golden_file(string provider)
    {
        IIlmDialect dialect = provider == "oracle" ? OracleIlmDialect.Instance : PostgreSqlIlmDialect.Instance;
        var path = Path.Combine(SourceDirectory(), "Golden", $"{provider}-ilm-control.sql");
        var actual = Render(dialect);
        if (Environment.GetEnvironmentVariable("PARTITIONOPS_UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"golden file missing: {path} (run once with PARTITIONOPS_UPDATE_GOLDEN=1 and review it)");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n"), actual);
    }

    [Theory]
    [InlineData("oracle")]
    [InlineData("postgresql")]
    public void Merge_statistics_round_the_durations_in_sql(string provider)
    {
        // Oracle's AVG returns up to 38 significant digits; ODP.NET throws InvalidCastException reading that into a decimal.
        IIlmDialect dialect = provider == "oracle" ? OracleIlmDialect.Instance : PostgreSqlIlmDialect.Instance;
        var text = dialect.MergeStatistics(null, "sales_part", 7).Text;
        Assert.Contains("ROUND(AVG(CASE WHEN merge_status = 'SUCCESS' THEN duration_seconds END), 3) AS avg_success_seconds", text);
        Assert.Contains("ROUND(MAX(duration_seconds), 3) AS max_seconds", text);
        Assert.DoesNotContain(" AVG(", text);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string file = "") =>
        Path.GetDirectoryName(file)!;
}
