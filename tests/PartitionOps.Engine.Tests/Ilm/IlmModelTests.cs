using PartitionOps.Engine;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers.Oracle;

namespace PartitionOps.Engine.Tests.Ilm;

public sealed class PartitionNameTests
{
    [Theory]
    [InlineData("P_2023", PartitionNameKind.Yearly, 2023, 0)]
    [InlineData("p_2023", PartitionNameKind.Yearly, 2023, 0)]
    [InlineData("P_2023_11", PartitionNameKind.Monthly, 2023, 11)]
    [InlineData("p_2024_01", PartitionNameKind.Monthly, 2024, 1)]
    [InlineData("P_2023_13", PartitionNameKind.Other, 0, 0)]
    [InlineData("P_2023_1", PartitionNameKind.Other, 0, 0)]
    [InlineData("SYS_P1234", PartitionNameKind.Other, 0, 0)]
    [InlineData("P_MAX", PartitionNameKind.Other, 0, 0)]
    [InlineData("SALES_2023", PartitionNameKind.Other, 0, 0)]
    public void Parses_yearly_and_monthly_names_case_insensitively(string name, PartitionNameKind kind, int year, int month)
    {
        var parsed = PartitionName.Parse(name);
        Assert.Equal(kind, parsed.Kind);
        Assert.Equal(year, parsed.Year);
        Assert.Equal(month, parsed.Month);
    }

    [Fact]
    public void Yearly_name_keeps_the_prefix_case()
    {
        Assert.Equal("p_2024", PartitionName.Parse("p_2024_01").YearlyName);
        Assert.Equal("P_2024", PartitionName.Parse("P_2024_01").YearlyName);
    }

    [Fact]
    public void Monthly_bounds_must_be_exactly_the_named_month()
    {
        var name = PartitionName.Parse("P_2023_11");
        Assert.True(name.BoundsMatch(new PartitionInfo { Name = "P_2023_11", LowerBound = new(2023, 11, 1),
            UpperBound = new(2023, 12, 1) }));
        Assert.True(name.BoundsMatch(new PartitionInfo { Name = "P_2023_11", UpperBound = new(2023, 12, 1) }));
        Assert.False(name.BoundsMatch(
            new PartitionInfo { Name = "P_2023_11", LowerBound = new(2023, 10, 1), UpperBound = new(2023, 12, 1) }));
        Assert.False(name.BoundsMatch(new PartitionInfo { Name = "P_2023_11", UpperBound = new(2024, 1, 1) }));
    }
}

public sealed class LayoutJsonTests
{
    [Fact]
    public void Layout_round_trips_through_json()
    {
        var layout = new PartitionLayout
        {
            Provider = "oracle",
            Schema = "CMR",
            Table = "SALES_PART",
            PartitionKey = "SALE_DATE",
            IsIntervalPartitioned = true,
            ServerMajorVersion = 19,
            Partitions =
            [
                new PartitionInfo { Name = "P_2023", Position = 1, UpperBound = new(2023, 11, 1), Tablespace = "TBS_WARM",
                    Compression = "BASIC", RowEstimate = 1000 },
                new PartitionInfo { Name = "P_2023_11", Position = 2, LowerBound = new(2023, 11, 1), UpperBound = new(2023, 12, 1),
                    Tablespace = "TBS_HOT", Compression = "NONE", RowEstimate = 100, IsInterval = true },
                new PartitionInfo { Name = "P_MAX", Position = 3, Tablespace = "TBS_HOT" },
            ],
        };
        var json = LayoutJson.Serialize(layout);
        Assert.Contains("\"upper_bound\": \"2023-11-01T00:00:00\"", json);
        Assert.Contains("\"is_interval_partitioned\": true", json);
        var back = LayoutJson.Deserialize(json);
        Assert.Equal(layout.Table, back.Table);
        Assert.Equal(layout.Partitions, back.Partitions);
        Assert.True(back.Partitions[2].IsMaxValue);
    }

    [Theory]
    [InlineData("{ not json", "is not valid JSON")]
    [InlineData("{\"table\": \"T\", \"partitions\": []}", "lists no partitions")]
    [InlineData("{\"partitions\": [{\"name\": \"P_2023\"}]}", "lacks a required key")]
    [InlineData("{\"table\": \"T\", \"partitions\": [{\"name\": \"P_2023\"}, {\"name\": \"p_2023\"}]}", "twice")]
    public void Broken_layout_names_the_file_and_the_problem(string json, string problem)
    {
        var e = Assert.Throws<InvalidRequestException>(() => LayoutJson.Deserialize(json, "layout.json"));
        Assert.Contains("layout.json", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Lower_bounds_are_filled_from_the_partition_before()
    {
        var layout = new PartitionLayout
        {
            Table = "T",
            Partitions =
            [
                new PartitionInfo { Name = "B", Position = 2, UpperBound = new(2023, 12, 1) },
                new PartitionInfo { Name = "A", Position = 1, UpperBound = new(2023, 11, 1) },
                new PartitionInfo { Name = "M", Position = 3 },
            ],
        };
        var ordered = layout.InBoundOrder();
        Assert.Equal(["A", "B", "M"], ordered.Select(p => p.Name));
        Assert.Null(ordered[0].LowerBound);
        Assert.Equal(new DateTime(2023, 11, 1), ordered[1].LowerBound);
        Assert.Equal(new DateTime(2023, 12, 1), ordered[2].LowerBound);
    }
}

public sealed class IlmPolicyTests
{
    [Fact]
    public void Missing_policy_gives_the_spec_defaults()
    {
        var p = IlmPolicy.Load(null);
        Assert.Equal(24, p.WarmAfterMonths);
        Assert.Equal(60, p.ColdAfterMonths);
        Assert.Equal(("TBS_HOT", "TBS_WARM", "TBS_COLD"), (p.Hot.Tablespace, p.Warm.Tablespace, p.Cold.Tablespace));
        Assert.Equal(("NONE", "BASIC", "BASIC"), (p.Hot.Compression, p.Warm.Compression, p.Cold.Compression));
        Assert.Equal(MergeStrategy.Incremental, p.Strategy);
        Assert.True(p.MergesInto(IlmTier.Warm));
        Assert.True(p.MergesInto(IlmTier.Cold));
        Assert.False(p.MergesInto(IlmTier.Hot));
        Assert.False(p.CreateMissingYearly);
        Assert.False(p.Online);
    }

    [Fact]
    public void Parses_the_spec_template_with_its_comments()
    {
        const string json = """
        {
          "tier_config": {
            "enabled": true,
            "auto_merge": true,  // NEW: Enable merge for this template
            "strategy": "year_complete",
            "create_missing_yearly": true,
            "online": true,
            "hot": { "interval": "MONTHLY", "tablespace": "DATA_HOT", "compression": "NONE", "age_months": 12 },
            "warm": {
              "interval": "YEARLY",
              "tablespace": "DATA_WARM",
              "compression": "ADVANCED",
              "age_months": 36,
              "merge_monthly": true  // NEW: Merge monthly into yearly
            },
            "cold": { "interval": "YEARLY", "merge_monthly": false },
          }
        }
        """;
        var p = IlmPolicy.Parse(json, "policy.json");
        Assert.Equal(MergeStrategy.YearComplete, p.Strategy);
        Assert.True(p.CreateMissingYearly);
        Assert.True(p.Online);
        Assert.Equal(12, p.WarmAfterMonths);
        Assert.Equal(36, p.ColdAfterMonths);
        Assert.Equal("DATA_WARM", p.Warm.Tablespace);
        Assert.Equal("ADVANCED", p.Warm.Compression);
        Assert.Equal("TBS_COLD", p.Cold.Tablespace);
        Assert.True(p.MergesInto(IlmTier.Warm));
        Assert.False(p.MergesInto(IlmTier.Cold));
    }

    [Theory]
    [InlineData(null, MergeMethod.Rebuild)]
    [InlineData("\"rebuild\"", MergeMethod.Rebuild)]
    [InlineData("\"in_place\"", MergeMethod.InPlace)]
    [InlineData("\"IN-PLACE\"", MergeMethod.InPlace)]
    public void Merge_method_defaults_to_rebuild(string? value, MergeMethod expected)
    {
        var json = value is null ? "{\"tier_config\": {}}" : $"{{\"tier_config\": {{\"merge_method\": {value}}}}}";
        Assert.Equal(expected, IlmPolicy.Parse(json).MergeMethod);
    }

    [Fact]
    public void Move_before_merge_false_is_only_for_year_complete()
    {
        Assert.True(IlmPolicy.Parse("{\"tier_config\": {}}").MoveBeforeMerge);
        Assert.False(IlmPolicy.Parse("{\"tier_config\": {\"strategy\": \"year_complete\", \"move_before_merge\": false}}").MoveBeforeMerge);
        var e = Assert.Throws<InvalidRequestException>(() => IlmPolicy.Parse("{\"tier_config\": {\"move_before_merge\": false}}"));
        Assert.Contains("year_complete", e.Problem);
        Assert.Equal("Policy", e.Parameter);
    }

    [Fact]
    public void Auto_merge_false_or_monthly_warm_means_no_merges()
    {
        Assert.False(IlmPolicy.Parse("""{"tier_config": {"auto_merge": false}}""").MergesInto(IlmTier.Warm));
        Assert.False(IlmPolicy.Parse("""{"tier_config": {"warm": {"interval": "MONTHLY"}}}""").MergesInto(IlmTier.Warm));
    }

    [Theory]
    [InlineData("{ \"tier_config\": ", "is not valid JSON")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("{\"tier_config\": {\"strategy\": \"weekly\"}}", "strategy 'weekly'")]
    [InlineData("{\"tier_config\": {\"merge_method\": \"online\"}}", "merge_method 'online' must be rebuild or in_place")]
    [InlineData("{\"tier_config\": {\"merge_method\": 1}}", "merge_method '1' must be a non-empty string")]
    [InlineData("{\"tier_config\": {\"warm\": {\"compression\": \"ZSTD\"}}}", "warm.compression 'ZSTD'")]
    [InlineData("{\"tier_config\": {\"warm\": {\"interval\": \"DAILY\"}}}", "warm.interval 'DAILY'")]
    [InlineData("{\"tier_config\": {\"hot\": {\"age_months\": -3}}}", "hot.age_months")]
    [InlineData("{\"tier_config\": {\"hot\": {\"age_months\": 70}}}", "must be greater than")]
    [InlineData("{\"tier_config\": {\"auto_merge\": \"yes\"}}", "auto_merge")]
    public void Broken_policy_names_the_file_and_the_problem(string json, string problem)
    {
        var e = Assert.Throws<InvalidRequestException>(() => IlmPolicy.Parse(json, "/tmp/p.json"));
        Assert.Contains("/tmp/p.json", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Tablespace_names_are_validated()
    {
        var e = Assert.Throws<InvalidRequestException>(() =>
            IlmPolicy.Parse("""{"tier_config": {"warm": {"tablespace": "x; drop table t"}}}""", "p.json"));
        Assert.Contains("x; drop table t", e.Message);
    }

    [Fact]
    public void Tablespace_names_resolve_to_the_databases_spelling()
    {
        // PostgreSQL folds unquoted CREATE TABLESPACE tbs_warm to lower case: the default policy's TBS_* find them.
        var resolved = IlmPolicy.Default.ResolveTablespaces(["pg_default", "tbs_hot", "tbs_warm", "tbs_cold"]);
        Assert.Equal(("tbs_hot", "tbs_warm", "tbs_cold"), (resolved.Hot.Tablespace, resolved.Warm.Tablespace, resolved.Cold.Tablespace));
        Assert.Equal(IlmPolicy.Default with { Hot = resolved.Hot, Warm = resolved.Warm, Cold = resolved.Cold }, resolved);
    }

    [Fact]
    public void An_exact_tablespace_name_wins_over_one_that_differs_in_case()
    {
        var resolved = IlmPolicy.Default.ResolveTablespaces(["TBS_WARM", "tbs_warm", "Tbs_Warm"]);
        Assert.Equal("TBS_WARM", resolved.Warm.Tablespace);
    }

    [Fact]
    public void A_tablespace_that_does_not_exist_keeps_its_name()
    {
        // Only a plan that needs it reports it missing.
        var resolved = IlmPolicy.Default.ResolveTablespaces(["tbs_warm"]);
        Assert.Equal(("TBS_HOT", "tbs_warm", "TBS_COLD"), (resolved.Hot.Tablespace, resolved.Warm.Tablespace, resolved.Cold.Tablespace));
    }

    [Fact]
    public void Two_tablespaces_that_differ_only_in_case_are_bad_input_naming_both()
    {
        var e = Assert.Throws<InvalidRequestException>(() => IlmPolicy.Default.ResolveTablespaces(["tbs_hot", "tbs_cold", "Tbs_Cold"]));
        Assert.Equal(("Policy", "tablespace", "TBS_COLD"), (e.Parameter, e.Field, e.Value));
        Assert.Contains("tbs_cold and Tbs_Cold", e.Message);
        Assert.Contains("cold tier", e.Message);
    }

    [Fact]
    public void Missing_policy_file_is_bad_input()
    {
        var e = Assert.Throws<InvalidRequestException>(() => IlmPolicy.Load("/nonexistent/policy.json"));
        Assert.Contains("/nonexistent/policy.json", e.Message);
    }

    [Theory]
    [InlineData("2026-11-01", IlmTier.Warm)]   // upper == as_of - 24 months: all data has passed the threshold
    [InlineData("2026-10-31", IlmTier.Hot)]
    [InlineData("2029-11-01", IlmTier.Cold)]   // upper == as_of - 60 months
    [InlineData("2029-10-31", IlmTier.Warm)]
    public void Tier_rule_uses_the_exclusive_upper_bound(string asOf, IlmTier expected)
    {
        Assert.Equal(expected, IlmPolicy.Default.TierOf(new DateTime(2024, 11, 1), DateOnly.Parse(asOf)));
        Assert.Equal(IlmTier.Hot, IlmPolicy.Default.TierOf(null, DateOnly.Parse(asOf)));
    }
}

public sealed class OracleHighValueTests
{
    [Theory]
    [InlineData("TO_DATE(' 2023-11-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')", "2023-11-01")]
    [InlineData("TIMESTAMP' 2023-11-01 00:00:00'", "2023-11-01")]
    [InlineData("TIMESTAMP' 2024-01-01 00:00:00.000000'", "2024-01-01")]
    [InlineData("DATE '2023-02-01'", "2023-02-01")]
    [InlineData("TIMESTAMP' 2023-11-01 00:00:00 +00:00'", "2023-11-01")]
    [InlineData("TIMESTAMP' 2023-11-01 00:00:00.000000 Europe/Paris'", "2023-11-01")]
    // HIGH_VALUE_JSON (23ai) as JSON_SERIALIZE writes it: {"high_value": <bound>}, a DATE/TIMESTAMP bound as ISO 8601 text.
    [InlineData("{\"high_value\":\"2023-11-01T00:00:00\"}", "2023-11-01")]
    [InlineData("{\"high_value\":\"2022-01-01T00:00:00\"}", "2022-01-01")] // oracle-base's PART_2021 (less than 2022-01-01)
    [InlineData("{\"high_value\":\"2024-01-01T00:00:00.000000\"}", "2024-01-01")]
    [InlineData("{\"high_value\":\"2023-11-01\"}", "2023-11-01")]
    [InlineData("{\"high_value\":\"2023-11-01T00:00:00+00:00\"}", "2023-11-01")]
    public void Reads_date_bounds(string text, string expected)
    {
        Assert.True(OracleHighValue.TryParse(text, out var value));
        Assert.Equal(DateTime.Parse(expected), value);
    }

    [Theory]
    [InlineData("MAXVALUE")]
    [InlineData(" maxvalue ")]
    [InlineData("{\"high_value\":\"MAXVALUE\"}")]
    public void Maxvalue_is_an_open_upper_bound(string text)
    {
        Assert.True(OracleHighValue.TryParse(text, out var value));
        Assert.Null(value);
    }

    [Theory]
    [InlineData("100")]
    [InlineData("'EUROPE', 'ASIA'")]
    [InlineData("")]
    [InlineData("{\"high_value\": 100}")]                       // the documented NUMBER example: not a date
    [InlineData("{\"high_value\":[\"2023-12-01T00:00:00\", 5]}")] // a multi-column key
    [InlineData("[\"2023-12-01T00:00:00\"]")]                      // not the documented shape (was guessed before)
    [InlineData("{\"other\":\"2023-12-01T00:00:00\"}")]
    [InlineData("{\"high_value\":\"EUROPE\"}")]
    [InlineData("{not json")]
    public void Non_date_bounds_are_refused(string text)
    {
        Assert.False(OracleHighValue.TryParse(text, out _));
        Assert.Throws<FormatException>(() => OracleHighValue.Parse(text));
    }
}
