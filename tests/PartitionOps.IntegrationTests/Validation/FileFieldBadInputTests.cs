using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Validation;

/// <summary>
/// Every field of the policy, profile and layout files, with bad values, through the command line against the real
/// PostgreSQL: exit 2, a message naming the field and the value (and the nearest known key for a typo), and the
/// database unchanged. The commands would change data were the file accepted (ilm run, backfill start).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class FileFieldBadInputTests(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>(policy JSON, text the message must hold).</summary>
    public static readonly (string Json, string[] Shown)[] Policies =
    [
        ("""{"tier_config": {"hot": {"age_month": 12}}}""", ["tier_config.hot.age_month", "did you mean age_months?"]),
        ("""{"tier_config": {"hott": {"age_months": 12}}}""", ["tier_config.hott", "did you mean hot?"]),
        ("""{"tier_config": {"warm": {}}, "retention": 3}""", ["retention"]),
        ("""{"tier_config": {"hot": null}}""", ["tier_config.hot", "null"]),
        ("""{"tier_config": {"enabled": null}}""", ["tier_config.enabled", "null"]),
        ("""{"tier_config": {"hot": {"age_months": 100000}}}""", ["hot.age_months", "100000", "1,200"]),
        ("""{"tier_config": {"warm": {"age_months": 200000}}}""", ["warm.age_months", "200000"]),
        ("""{"tier_config": {"hot": {"age_months": 0}}}""", ["hot.age_months", "0"]),
        ("""{"tier_config": {"hot": {"age_months": -3}}}""", ["hot.age_months", "-3"]),
        ("""{"tier_config": {"hot": {"age_months": 1.5}}}""", ["hot.age_months", "1.5"]),
        ("""{"tier_config": {"hot": {"age_months": "12"}}}""", ["hot.age_months", "12"]),
        ("""{"tier_config": {"hot": {"age_months": 70}}}""", ["warm.age_months", "greater than hot.age_months 70"]),
        ("""{"tier_config": {"hot": {"age_months": 30}, "warm": {"age_months": 30}}}""", ["warm.age_months", "30"]),
        ("""{"tier_config": {"cold": {"age_months": 90}}}""", ["cold.age_months", "90"]),
        ("""{"tier_config": {"warm": {"interval": "DAILY"}}}""", ["warm.interval", "DAILY"]),
        ("""{"tier_config": {"warm": {"compression": "ZSTD"}}}""", ["warm.compression", "ZSTD"]),
        ("""{"tier_config": {"warm": {"tablespace": "tbs\nwarm"}}}""", ["warm.tablespace", "tbs\\nwarm"]),
        ("""{"tier_config": {"warm": {"tablespace": "x\"; DROP TABLE public.sales; --"}}}""", ["warm.tablespace", "DROP TABLE"]),
        ("""{"tier_config": {"warm": {"merge_monthly": "yes"}}}""", ["warm.merge_monthly", "yes"]),
        ("""{"tier_config": {"strategy": "weekly"}}""", ["strategy", "weekly"]),
        ("""{"tier_config": {"merge_method": "copy"}}""", ["merge_method", "copy", "rebuild or in_place"]),
        ("""{"tier_config": {"auto_merge": "Y"}}""", ["auto_merge", "Y"]),
        ("""{"tier_config": {"hot": {"age_months": 12}, "hot": {"age_months": 6}}}""", ["tier_config.hot", "given twice"]),
        ("""{"tier_config": 5}""", ["tier_config", "5"]),
        ("""[1, 2]""", ["JSON object"]),
        ("""{"tier_config": {""", ["not valid JSON"]),
    ];

    /// <summary>(profile JSON, text the message must hold).</summary>
    public static readonly (string Json, string[] Shown)[] Profiles =
    [
        ("""{"default_value": 99999}""", ["default_value", "99999", "smallint"]),
        ("""{"system_value": -40000}""", ["system_value", "-40000", "smallint"]),
        ("""{"system_types": ["ValueSet", "ValueSet"]}""", ["system_types", "ValueSet", "twice"]),
        ("""{"system_types": []}""", ["system_types", "empty"]),
        ("""{"system_types": ["Value\nSet"]}""", ["system_types", "Value\\nSet"]),
        ("""{"system_types": [" ValueSet"]}""", ["system_types", " ValueSet"]),
        ("""{"system_value": 2}""", ["system_value", "2", "equals default_value"]),
        ("""{"partition_column_type": "text"}""", ["partition_column_type", "text"]),
        ("""{"partition_column": "ResourceTypeId"}""", ["partition_column", "ResourceTypeId"]),
        ("""{"table": "Resource\n"}""", ["table", "Resource\\n"]),
        ("""{"table": "Resource\"; DROP TABLE public.sales; --"}""", ["table", "DROP TABLE"]),
        ("""{"schema": "pg_catalog"}""", ["pg_catalog", "system schema"]),
        ("""{"index_columns": ["ResourceId", "ResourceId"]}""", ["index_columns", "ResourceId", "twice"]),
        ("""{"system_index_name": "IX_Same", "default_index_name": "IX_Same"}""", ["default_index_name", "IX_Same"]),
        ("""{"tabel": "Resource"}""", ["tabel", "did you mean table?"]),
        ("""{"default_value": null}""", ["default_value", "null"]),
        ("""{"default_value": "2"}""", ["default_value"]),
        ("""{"default_value": 3000000000}""", ["default_value"]),
        ("""{"table": """, ["not valid JSON"]),
    ];

    /// <summary>(layout JSON, text the message must hold): ilm plan --layout reads it offline.</summary>
    public static readonly (string Json, string[] Shown)[] Layouts =
    [
        (Layout(Part("P_2023", "2023-01-01", "2023-12-01") + ", " + Part("P_2023_11", "2023-11-01", "2023-12-01")),
            ["P_2023_11", "overlaps"]),
        (Layout(Part("P_2023", "2023-01-01", "2023-12-01") + ", " + Part("P_2023_11", "2023-10-01", "2024-01-01")),
            ["P_2023_11", "overlaps"]),
        (Layout("""{"name": "P_2023_11", "lower_bound": "2023-12-01T00:00:00", "upper_bound": "2023-11-01T00:00:00"}"""),
            ["P_2023_11", "lower bound"]),
        (Layout("""{"name": "P_2023_11", "upper_bound": "2023-12-01T00:00:00"}, """ +
                """{"name": "p_2023_11", "upper_bound": "2024-01-01T00:00:00"}"""),
            ["P_2023_11", "twice"]),
        (Layout("""{"name": "P_MAX1"}, {"name": "P_MAX2"}"""), ["P_MAX2", "MAXVALUE"]),
        (Layout("""{"name": "P_2023_11", "upper_bound": "2023-12-01T00:00:00", "row_estimat": 5}"""),
            ["row_estimat", "did you mean row_estimate?"]),
        (Layout("""{"name": "P_2023_11", "upper_bound": "2023-12-01T00:00:00", "row_estimate": -5}"""), ["row_estimate", "-5"]),
        (Layout("""{"name": "", "upper_bound": "2023-12-01T00:00:00"}"""), ["no name"]),
        (Layout("""{"name": "P_2023_11", "upper_bound": "not a date"}"""), ["partitions[0].upper_bound"]),
        ("""{"tabel": "sales", "partitions": []}""", ["tabel", "did you mean table?"]),
        ("""{"table": "sales", "partitions": []}""", ["lists no partitions"]),
    ];

    private static string Part(string name, string from, string to) =>
        $$"""{"name": "{{name}}", "lower_bound": "{{from}}T00:00:00", "upper_bound": "{{to}}T00:00:00"}""";

    private static string Layout(string partitions) =>
        """{"provider": "postgresql", "schema": "public", "table": "sales", "partition_key": "sale_date",""" +
        $$""" "columns": ["id", "sale_date"], "partitions": [{{partitions}}]}""";

    [Fact]
    public async Task Every_bad_field_of_a_policy_profile_or_layout_file_is_exit_2_naming_it_and_changes_nothing()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        await db.ExecAsync("""
            CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL) PARTITION BY RANGE (sale_date);
            CREATE TABLE public.p_2023_11 PARTITION OF public.sales FOR VALUES FROM ('2023-11-01') TO ('2023-12-01');
            CREATE TABLE public.p_2023_12 PARTITION OF public.sales FOR VALUES FROM ('2023-12-01') TO ('2024-01-01');
            INSERT INTO public.sales SELECT g, DATE '2023-11-01' + (g % 61) FROM generate_series(1, 600) g;
            """);
        var before = await DatabaseFingerprint.ReadAsync(db.ConnectionString);
        var folder = Directory.CreateTempSubdirectory("partitionops-bad-files").FullName;
        var failures = new List<string>();
        var n = 0;

        async Task Check(string kind, string json, string[] shown, params string[] command)
        {
            var file = Path.Combine(folder, $"{kind}-{++n}.json");
            await File.WriteAllTextAsync(file, json);
            var run = await CliRun.RunAsync([.. command.Select(a => a == "FILE" ? file : a)]);
            var problems = new List<string>();
            if (run.ExitCode != 2) problems.Add($"exit {run.ExitCode}");
            foreach (var text in shown.Append(file))
                if (!run.Stderr.Contains(text, StringComparison.Ordinal)) problems.Add($"no '{text}' in the message");
            if (run.Stderr.Contains("Exception", StringComparison.Ordinal) || run.Stderr.Contains("   at ", StringComparison.Ordinal))
                problems.Add("an exception is shown");
            if (await DatabaseFingerprint.ReadAsync(db.ConnectionString) != before) problems.Add("the database changed");
            if (problems.Count > 0) failures.Add($"{kind} {json}: {string.Join("; ", problems)}\n{run}");
        }

        var cs = db.ConnectionString;
        foreach (var (json, shown) in Policies)
            await Check("policy", json, shown, "ilm", "run", "--provider", "postgresql", "--connection", cs, "--table", "sales",
                "--as-of", "2030-01-01", "--policy", "FILE");
        foreach (var (json, shown) in Profiles)
            await Check("profile", json, shown, "backfill", "start", "--provider", "postgresql", "--connection", cs, "--profile", "FILE");
        foreach (var (json, shown) in Layouts)
            await Check("layout", json, shown, "ilm", "plan", "--provider", "postgresql", "--layout", "FILE", "--as-of", "2030-01-01");

        output.WriteLine($"{n} bad files tried");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.Equal(before, await DatabaseFingerprint.ReadAsync(db.ConnectionString));
    }

    [Fact]
    public void The_known_keys_include_those_other_features_read()
    {
        // tier_config.merge_method (rebuild | in_place) and the profile's indexes are known keys: accepted, not refused as typos.
        IlmPolicy.Parse("""{"tier_config": {"merge_method": "in_place"}}""");
        IlmPolicy.Parse("""{"tier_config": {"merge_method": "rebuild"}}""");
        Assert.True(BackfillProfile.FileKeys.Contains("indexes"));
        var e = Assert.Throws<InvalidRequestException>(() => IlmPolicy.Parse("""{"tier_config": {"merge_methd": "rebuild"}}""", "p.json"));
        Assert.Contains("did you mean merge_method?", e.Message);
    }
}
