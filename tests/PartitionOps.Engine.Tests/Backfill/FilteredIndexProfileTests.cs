using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.SqlServer;
using PartitionOps.Engine.Tests.PowerShell;

namespace PartitionOps.Engine.Tests.Backfill;

/// <summary>The profile's list of filtered indexes, the SQL Server limits on the request, and the time-box and row-size rules.</summary>
public sealed class FilteredIndexProfileTests
{
    [Fact]
    public void Without_an_indexes_list_the_profile_builds_the_spec_s_two_from_the_old_keys()
    {
        var p = BackfillProfile.Parse(
            """{ "index_columns": ["ResourceTypeId", "ResourceId"], "system_index_name": "IX_S", "default_index_name": "IX_D" }""");
        var indexes = p.FilteredIndexes();
        Assert.Equal([("IX_S", 1), ("IX_D", 2)], indexes.Select(i => (i.Name, i.FilterValue)));
        Assert.All(indexes, i => Assert.Equal(["ResourceTypeId", "ResourceId"], i.Columns));
        Assert.All(indexes, i => Assert.True(i.Unique && i.Include.Count == 0 && i.Where.Count == 0));
        Assert.Equal(2, BackfillProfile.Fhir.FilteredIndexes().Count);
    }

    [Fact]
    public void An_indexes_list_names_any_number_with_include_extra_predicate_and_uniqueness()
    {
        var p = BackfillProfile.Parse("""
            { "indexes": [
                { "name": "A", "partition": "default", "columns": ["ResourceTypeId"], "include": ["Version"],
                  "where": { "IsHistory": false, "Kind": 7 } },
                { "name": "B", "partition": "system", "columns": ["ResourceId"], "unique": false },
                { "name": "C", "partition": "system", "columns": ["ResourceTypeId", "ResourceId"] } ] }
            """);
        var indexes = p.FilteredIndexes();
        Assert.Equal(["A", "B", "C"], indexes.Select(i => i.Name));
        Assert.Equal([2, 1, 1], indexes.Select(i => i.FilterValue));
        Assert.Equal(["Version"], indexes[0].Include);
        Assert.Equal([new IndexCondition("IsHistory", 0, true), new IndexCondition("Kind", 7)], indexes[0].Where);
        Assert.False(indexes[1].Unique);
        Assert.Contains(("IsHistory", "indexes[0].where"), p.IndexedColumns());
    }

    [Fact]
    public void The_fhir_prototype_profile_has_the_prototype_s_four_indexes_and_the_module_file_says_the_same()
    {
        var builtIn = BackfillProfile.Load("fhir-prototype");
        Assert.Same(BackfillProfile.FhirPrototype, builtIn);
        Assert.Same(builtIn, builtIn.Validated());
        var file = BackfillProfile.Load(Path.Combine(ModuleFacts.ModuleDirectory, "Profiles", "fhir-prototype.json"));
        Assert.Equal(builtIn.FilteredIndexes(), file.FilteredIndexes(), new IndexComparer());
        var extra = builtIn.FilteredIndexes().Skip(2).ToList();
        Assert.Equal(2, extra.Count);
        Assert.All(extra, i =>
        {
            Assert.Equal(["ResourceTypeId", "ResourceId"], i.Columns);
            Assert.Equal(["Version", "IsDeleted"], i.Include);
            Assert.Equal([new IndexCondition("IsHistory", 0, true)], i.Where);
        });
        Assert.Equal([1, 2], extra.Select(i => i.FilterValue));
        // The default stays the spec's two.
        Assert.Null(BackfillProfile.Fhir.Indexes);
    }

    private sealed class IndexComparer : IEqualityComparer<FilteredIndex>
    {
        public bool Equals(FilteredIndex? a, FilteredIndex? b) =>
            a is not null && b is not null && a.Name == b.Name && a.FilterValue == b.FilterValue &&
            a.Unique == b.Unique && a.Columns.SequenceEqual(b.Columns) && a.Include.SequenceEqual(b.Include)
                && a.Where.SequenceEqual(b.Where);
        public int GetHashCode(FilteredIndex i) => i.Name.GetHashCode(StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "indexes": [] }""", "indexes")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "hot", "columns": ["x"] } ] }""", "indexes[0].partition")]
    [InlineData("""{ "indexes": [ { "name": "A b", "partition": "system", "columns": ["x"] } ] }""", "indexes[0].name")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": [] } ] }""", "indexes[0].columns")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x;y"] } ] }""", "indexes[0].columns")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x"], "include": ["x"] } ] }""", "indexes[0].include")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x"], "where": { "y": "0" } } ] }""",
        "indexes[0].where.y")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x"], "where": { "y": 1.5 } } ] }""",
        "indexes[0].where.y")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x"], "where": { "PartitionId": 1 } } ] }""",
        "indexes[0].where")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x"] }, """ +
        """{ "name": "a", "partition": "default", "columns": ["x"] } ] }""",
        "indexes[1].name")]
    [InlineData("""{ "indexes": [ { "name": "A", "partition": "system", "columns": ["x"], "colour": 1 } ] }""", "colour")]
    public void A_bad_index_entry_is_refused_naming_the_field(string json, string field)
    {
        var error = Assert.Throws<InvalidRequestException>(() => BackfillProfile.Parse(json, "p.json"));
        Assert.Contains(field, error.Message);
    }

    // ---------------------------------------------------------------- request limits

    private static readonly DatabaseTarget Target = new(SqlServerProvider.Instance, "Server=sql01;Database=fhir;Integrated Security=true");
    private static BackfillRequest Request() => new() { Scope = new BackfillScope { Target = Target } };

    [Theory]
    [InlineData(0, nameof(IndexBuildOptions.MaxDurationMinutes))]
    [InlineData(10_081, nameof(IndexBuildOptions.MaxDurationMinutes))]
    public void Max_duration_outside_what_sql_server_accepts_is_invalid_input(int minutes, string option)
    {
        var error = Assert.Throws<InvalidRequestException>(() => (Request() with { Index = new() { MaxDurationMinutes = minutes } })
            .Validated());
        Assert.Equal(option, error.Parameter);
        Assert.Contains("10,080", error.Message);
        (Request() with { Index = new() { MaxDurationMinutes = 10_080 } }).Validated();
    }

    [Fact]
    public void Maxdop_above_64_and_a_phase_that_contradicts_skip_indexes_are_invalid_input()
    {
        Assert.Equal(nameof(IndexBuildOptions.MaxDop),
            Assert.Throws<InvalidRequestException>(() => (Request() with { Index = new() { MaxDop = 65 } }).Validated()).Parameter);
        Assert.Equal(nameof(BackfillRequest.SkipIndexes), Assert.Throws<InvalidRequestException>(() =>
            (Request() with { Phase = BackfillPhase.Indexes, SkipIndexes = true }).Validated()).Parameter);
        Assert.Equal(nameof(BackfillRequest.IndexBuildRowsPerSecond),
            Assert.Throws<InvalidRequestException>(() => (Request() with { IndexBuildRowsPerSecond = 0 }).Validated()).Parameter);
        Assert.Equal(nameof(BackfillRequest.IndexBuildRowsPerSecond),
            Assert.Throws<InvalidRequestException>(() => (Request() with { IndexBuildRowsPerSecond = 9_999_999_999_999 }).Validated())
                .Parameter);
        Assert.Equal(nameof(IndexBuildOptions.MaxDop),
            Assert.Throws<InvalidRequestException>(() => new SqlServerBackfillDialect().BuildFilteredIndex(
                new BackfillTable("dbo", BackfillProfile.Fhir, "c"), BackfillProfile.Fhir.FilteredIndexes()[0], [], [],
                new IndexBuildOptions { MaxDop = 65 })).Parameter);
    }

    [Fact]
    public void A_phase_turns_into_the_skip_flags()
    {
        var indexes = (Request() with { Phase = BackfillPhase.Indexes }).WithPhaseApplied();
        Assert.Equal((true, false, true), (indexes.SkipColumn, indexes.SkipIndexes, indexes.SkipBackfill));
        var column = (Request() with { Phase = BackfillPhase.Column }).WithPhaseApplied();
        Assert.Equal((false, true, true), (column.SkipColumn, column.SkipIndexes, column.SkipBackfill));
        var backfill = (Request() with { Phase = BackfillPhase.Backfill }).WithPhaseApplied();
        Assert.Equal((true, true, false), (backfill.SkipColumn, backfill.SkipIndexes, backfill.SkipBackfill));
    }

    // ---------------------------------------------------------------- time box and row size

    [Fact]
    public void A_build_that_cannot_be_paused_is_deferred_when_its_estimate_passes_the_time_left()
    {
        var estimate = ServerRules.IndexBuildEstimate(180_000_000, 50_000); // one hour
        Assert.Equal(TimeSpan.FromHours(1), estimate);
        var why = ServerRules.DeferBuild("no pause", TimeSpan.FromHours(3), TimeSpan.FromHours(2.5), estimate, 180_000_000, 50_000);
        Assert.NotNull(why);
        Assert.Contains("1 h 00 min", why);
        Assert.Contains("30 min", why);
        Assert.Contains("Run the indexes phase alone without a time limit", why);
        Assert.Contains("of the time limit is left", why);
        Assert.DoesNotContain("--", why, StringComparison.Ordinal);
        Assert.Contains("180,000,000 rows", why);
        Assert.Null(ServerRules.DeferBuild("no pause", TimeSpan.FromHours(3), TimeSpan.FromHours(1), estimate, 180_000_000, 50_000));
        Assert.Null(ServerRules.DeferBuild("no pause", null, TimeSpan.FromHours(10), estimate, 180_000_000, 50_000));
        Assert.Null(ServerRules.DeferBuild(null, TimeSpan.FromMinutes(1), TimeSpan.Zero, estimate, 180_000_000, 50_000));
    }

    [Fact]
    public void A_column_add_that_would_pass_8060_bytes_is_refused_with_the_reason_and_one_within_passes()
    {
        var p = BackfillProfile.Fhir;
        var over = ServerRules.RowSizeCheck(8_058, 8060, columnExists: false, p, "dbo.Resource");
        Assert.False(over.Passed);
        Assert.Contains("8061 bytes", over.Detail);
        Assert.Contains("8060-byte limit", over.Detail);
        Assert.Contains("offline", over.Detail);
        Assert.True(ServerRules.RowSizeCheck(8_057, 8060, false, p, "dbo.Resource").Passed);
        Assert.True(ServerRules.RowSizeCheck(9_000, 8060, columnExists: true, p, "dbo.Resource").Passed);
        Assert.True(ServerRules.RowSizeCheck(null, null, false, p, "public.Resource").Passed);
        Assert.False(ServerRules.RowSizeCheck(8_052, 8060, false, p with { PartitionColumnType = "bigint" }, "dbo.Resource").Passed);
    }
}
