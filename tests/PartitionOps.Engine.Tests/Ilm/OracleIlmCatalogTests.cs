using System.Data;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers.Oracle;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>
/// Reading an Oracle table's layout: HIGH_VALUE_JSON on 23ai (the CLOB text when the JSON is not understood), the LONG
/// HIGH_VALUE before, and index-organized tables, whose merges go pairwise (ORA-14806).
/// </summary>
public sealed class OracleIlmCatalogTests
{
    private static readonly OracleIlmDialect D = OracleIlmDialect.Instance;

    [Fact]
    public void On_23ai_the_bound_is_read_from_high_value_json_with_the_clob_as_fallback()
    {
        Assert.Equal("""
            SELECT p.partition_name,
                   p.partition_position,
                   JSON_SERIALIZE(p.high_value_json RETURNING VARCHAR2(4000)) AS bound_text,
                   p.high_value_clob AS bound_text_fallback,
                   p.tablespace_name,
                   CASE WHEN p.compression = 'ENABLED' THEN p.compress_for ELSE 'NONE' END AS compression,
                   p.num_rows AS row_estimate,
                   CASE WHEN p.interval = 'YES' THEN 1 ELSE 0 END AS is_interval
            FROM all_tab_partitions p
            WHERE p.table_owner = :owner AND p.table_name = :table_name
            ORDER BY p.partition_position
            """, D.Partitions("CMR", "SALES_PART", 23).Text);
        Assert.Contains("JSON_SERIALIZE(p.high_value_json", D.Partitions("CMR", "SALES_PART", 26).Text);
        // Before 23ai, or when the version is unknown: the LONG, the only column there is.
        foreach (var version in new int?[] { 12, 19, 21, null })
        {
            var text = D.Partitions("CMR", "SALES_PART", version).Text;
            Assert.Contains("p.high_value AS bound_text,", text);
            Assert.DoesNotContain("high_value_json", text);
        }
        Assert.Equal(D.Partitions("CMR", "SALES_PART", null).Text, D.Partitions("CMR", "SALES_PART").Text);
    }

    [Fact]
    public void Table_info_reads_whether_the_table_is_index_organized()
    {
        Assert.Contains("CASE WHEN t.iot_type IS NULL THEN 0 ELSE 1 END AS is_iot", D.TableInfo("CMR", "SALES_PART").Text);
    }

    [Fact]
    public async Task A_23ai_layout_comes_from_the_json_and_falls_back_to_the_clob_text()
    {
        var connection = Server(version: 23, iot: false,
            ("P_2023", "{\"high_value\":\"2023-11-01T00:00:00\"}",
                "TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')"),
            // A shape the parser does not know: the CLOB (the same SQL text as the LONG) decides.
            ("P_2023_11", "{\"high_value\":{\"date\":\"2023-12-01\"}}",
                "TO_DATE(' 2023-12-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')"),
            ("P_MAX", "{\"high_value\":\"MAXVALUE\"}", "MAXVALUE"));
        var layout = await IlmCatalog.ReadAsync(connection, OracleProvider.Instance, "CMR", "SALES_PART", CancellationToken.None);

        Assert.Equal(23, layout.ServerMajorVersion);
        Assert.Equal([new DateTime(2023, 11, 1), new DateTime(2023, 12, 1), (DateTime?)null], layout.Partitions.Select(p => p.UpperBound));
        Assert.Contains(connection.Commands, c => c.CommandText.Contains("high_value_json"));
        Assert.DoesNotContain(connection.Commands, c => c.CommandText.Contains("p.high_value AS"));
        Assert.False(layout.IsIndexOrganized);
        Assert.Null(layout.PairwiseMergeReason);
    }

    [Fact]
    public async Task Before_23ai_the_long_is_read()
    {
        var connection = Server(version: 19, iot: false,
            ("P_2023", "TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null));
        var layout = await IlmCatalog.ReadAsync(connection, OracleProvider.Instance, "CMR", "SALES_PART", CancellationToken.None);
        Assert.Equal(new DateTime(2023, 11, 1), Assert.Single(layout.Partitions).UpperBound);
        Assert.Contains(connection.Commands, c => c.CommandText.Contains("p.high_value AS bound_text"));
    }

    [Fact]
    public async Task A_bound_neither_column_explains_is_bad_input_naming_the_partition()
    {
        var connection = Server(version: 23, iot: false, ("P_EU", "{\"high_value\":\"EUROPE\"}", "'EUROPE'"));
        var e = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            IlmCatalog.ReadAsync(connection, OracleProvider.Instance, "CMR", "SALES_PART", CancellationToken.None));
        Assert.Contains("P_EU", e.Message);
        Assert.Contains("'EUROPE'", e.Message);
    }

    [Fact]
    public async Task An_index_organized_table_merges_pairwise()
    {
        var connection = Server(version: 19, iot: true,
            ("P_2023", "TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null),
            ("P_2023_11", "TO_DATE(' 2023-12-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null),
            ("P_2023_12", "TO_DATE(' 2024-01-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null));
        var layout = await IlmCatalog.ReadAsync(connection, OracleProvider.Instance, "CMR", "SALES_PART", CancellationToken.None);
        Assert.True(layout.IsIndexOrganized);
        Assert.Contains("ORA-14806", layout.PairwiseMergeReason);

        var plan = IlmPlanner.Plan(layout, IlmPolicy.Default, DateOnly.Parse("2026-01-01"), new IlmPlanOptions());
        var merges = plan.Work.OfType<MergeAction>().ToList();
        Assert.Equal(2, merges.Count);
        Assert.Equal(["P_2023", "P_2023_11"], merges[0].Sources);
        Assert.Equal(["P_2023", "P_2023_12"], merges[1].Sources);
        // The same table as a heap table: one statement for both months.
        var heap = IlmPlanner.Plan(layout with { IsIndexOrganized = false }, IlmPolicy.Default, DateOnly.Parse("2026-01-01"),
            new IlmPlanOptions());
        Assert.Equal(["P_2023", "P_2023_11", "P_2023_12"], Assert.Single(heap.Work.OfType<MergeAction>()).Sources);
    }

    [Fact]
    public async Task Online_on_an_index_organized_table_is_reported_on_each_move_and_merge_not_dropped()
    {
        var connection = Server(version: 19, iot: true,
            ("P_2023", "TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null),
            ("P_2023_11", "TO_DATE(' 2023-12-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null),
            ("P_2023_12", "TO_DATE(' 2024-01-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null),
            ("P_2024_01", "TO_DATE(' 2024-02-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", null));
        var layout = await IlmCatalog.ReadAsync(connection, OracleProvider.Instance, "CMR", "SALES_PART", CancellationToken.None);
        var online = IlmPolicy.Default with { Online = true };

        // As of mid-2026 the 2023 months merge into P_2023 and January 2024 (HOT tablespace) moves to WARM.
        var result = IlmService.PlanOffline(layout, online, DateOnly.Parse("2026-06-15"), OracleProvider.Instance);
        var steps = result.Steps.Where(s => s.Action is MoveAction or MergeAction).ToList();
        Assert.Contains(steps, s => s.Action is MoveAction);
        Assert.Contains(steps, s => s.Action is MergeAction);
        foreach (var step in steps)
        {
            Assert.Contains("ORA-14808", step.Action.Note);
            Assert.Contains("online: true is not used", step.Action.Describe());
            Assert.All(step.Statements, s => Assert.DoesNotContain("ONLINE", s.Text));
        }
        Assert.Contains("ORA-14808", System.Text.Json.JsonSerializer.Serialize<IlmAction>(steps[0].Action));

        // The same table as a heap table: ONLINE is used and there is nothing to note.
        var heap = IlmService.PlanOffline(layout with { IsIndexOrganized = false }, online, DateOnly.Parse("2026-06-15"),
            OracleProvider.Instance);
        Assert.All(heap.Steps.Where(s => s.Action is MoveAction or MergeAction), s =>
        {
            Assert.Null(s.Action.Note);
            Assert.Contains(s.Statements, t => t.Text.Contains(" ONLINE", StringComparison.Ordinal));
        });
        // Without online: true there is nothing to note either.
        Assert.All(IlmService.PlanOffline(layout, IlmPolicy.Default, DateOnly.Parse("2026-06-15"), OracleProvider.Instance).Plan.Actions,
            a => Assert.Null(a.Note));
    }

    [Fact]
    public void The_index_organized_flag_survives_a_snapshot_file()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1))) with { IsIndexOrganized = true };
        var json = LayoutJson.Serialize(layout);
        Assert.Contains("\"is_index_organized\": true", json);
        Assert.DoesNotContain("pairwise_merge_reason", json);
        Assert.True(LayoutJson.Deserialize(json).IsIndexOrganized);
    }

    /// <summary>Answers the catalog queries IlmCatalog sends, as an Oracle server of <paramref name="version"/> would.</summary>
    private static ScriptedConnection Server(int version, bool iot, params (string Name, string Bound, string? Fallback)[] partitions) =>
        new(c =>
    {
        var text = c.CommandText;
        if (text.Contains("product_component_version")) return version;
        if (text.Contains("FROM all_tables t"))
        {
            var info = ScriptedConnection.Table(("table_owner", typeof(string)), ("table_name", typeof(string)),
                ("partitioning_type", typeof(string)),
                ("key_count", typeof(decimal)), ("partition_key", typeof(string)), ("is_interval", typeof(decimal)),
                    ("is_composite", typeof(decimal)),
                ("is_iot", typeof(decimal)));
            info.Rows.Add("CMR", "SALES_PART", "RANGE", 1m, "SALE_DATE", 0m, 0m, iot ? 1m : 0m);
            return info;
        }
        if (text.Contains("FROM all_tab_partitions p"))
        {
            var json = text.Contains("high_value_json");
            var columns = new List<(string, Type)> { ("partition_name", typeof(string)), ("partition_position", typeof(decimal)),
                ("bound_text", typeof(string)) };
            if (json) columns.Add(("bound_text_fallback", typeof(string)));
            columns.AddRange([("tablespace_name", typeof(string)), ("compression", typeof(string)), ("row_estimate", typeof(decimal)),
                ("is_interval", typeof(decimal))]);
            var rows = ScriptedConnection.Table([.. columns]);
            var position = 0;
            foreach (var (name, bound, fallback) in partitions)
            {
                position++;
                var tablespace = name.Length == 6 ? "TBS_WARM" : "TBS_HOT";
                rows.Rows.Add(json
                    ? [name, (decimal)position, bound, fallback, tablespace, "NONE", 100m, 0m]
                    : new object?[] { name, (decimal)position, bound, tablespace, "NONE", 100m, 0m });
            }
            return rows;
        }
        throw new InvalidOperationException("unexpected statement: " + text);
    });
}
