using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Ilm.Simulation;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.Oracle;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.Engine.Tests.Ilm;

public sealed class IlmConfigTests
{
    [Fact]
    public void Defaults_are_the_spec_values()
    {
        var c = IlmConfig.FromValues(new Dictionary<string, string?>());
        Assert.Equal((true, 30, true, 50), (c.AutoMergePartitions, c.MergeLockTimeoutSeconds, c.MergeRetryFailed, c.MaxMergesPerRun));
        Assert.Equal(["AUTO_MERGE_PARTITIONS", "MERGE_LOCK_TIMEOUT", "MERGE_RETRY_FAILED", "MAX_MERGES_PER_RUN"],
            IlmConfig.Defaults.Select(d => d.Key));
    }

    [Fact]
    public void Table_values_are_read_and_options_override_them()
    {
        var c = IlmConfig.FromValues(new Dictionary<string, string?>
        {
            ["AUTO_MERGE_PARTITIONS"] = "N", ["MERGE_LOCK_TIMEOUT"] = "5", ["MERGE_RETRY_FAILED"] = "n", ["MAX_MERGES_PER_RUN"] = "3",
                ["OTHER"] = "x",
        });
        Assert.Equal((false, 5, false, 3), (c.AutoMergePartitions, c.MergeLockTimeoutSeconds, c.MergeRetryFailed, c.MaxMergesPerRun));
        var o = c.With(new IlmConfigOverrides { LockTimeoutSeconds = 60, MaxMerges = 10 });
        Assert.Equal((60, 10, false), (o.MergeLockTimeoutSeconds, o.MaxMergesPerRun, o.AutoMergePartitions));
    }

    [Theory]
    [InlineData("MERGE_LOCK_TIMEOUT", "soon")]
    [InlineData("MERGE_LOCK_TIMEOUT", "0")]
    [InlineData("MAX_MERGES_PER_RUN", "-1")]
    [InlineData("AUTO_MERGE_PARTITIONS", "maybe")]
    [InlineData("NOT_A_KEY", "1")]
    public void Bad_values_name_their_key(string key, string value)
    {
        var e = Assert.Throws<InvalidRequestException>(() => IlmConfig.Validate(key, value));
        Assert.Contains(key == "NOT_A_KEY" ? key : value, e.Message);
    }

    [Theory]
    [InlineData("AUTO_MERGE_PARTITIONS", "YES", "Y")]
    [InlineData("AUTO_MERGE_PARTITIONS", " true ", "Y")]
    [InlineData("AUTO_MERGE_PARTITIONS", "1", "Y")]
    [InlineData("AUTO_MERGE_PARTITIONS", "y", "Y")]
    [InlineData("MERGE_RETRY_FAILED", "no", "N")]
    [InlineData("MERGE_RETRY_FAILED", "False", "N")]
    [InlineData("MERGE_RETRY_FAILED", "0", "N")]
    [InlineData("MERGE_LOCK_TIMEOUT", " 045", "45")]
    [InlineData("MAX_MERGES_PER_RUN", "+7", "7")]
    public void Values_are_stored_in_the_spec_form(string key, string value, string stored)
    {
        Assert.Equal(stored, IlmConfig.Normalize(key, value));
        // What is stored reads back as what was meant.
        Assert.Equal(IlmConfig.FromValues(new Dictionary<string, string?> { [key] = value }),
            IlmConfig.FromValues(new Dictionary<string, string?> { [key] = stored }));
    }

    [Theory]
    [InlineData("AUTO_MERGE_PARTITIONS", "")]
    [InlineData("MAX_MERGES_PER_RUN", "  ")]
    [InlineData("MERGE_RETRY_FAILED", null)]
    public void An_empty_value_is_bad_input_naming_the_key(string key, string? value)
    {
        var e = Assert.Throws<InvalidRequestException>(() => IlmConfig.Normalize(key, value));
        Assert.Equal(key, e.Parameter);
        Assert.Contains("is empty", e.Message);
    }

    [Fact]
    public void Bad_overrides_name_the_option()
    {
        Assert.Contains("LockTimeoutSeconds",
            Assert.Throws<InvalidRequestException>(() => new IlmConfigOverrides { LockTimeoutSeconds = 0 }.Validate()).Message);
        Assert.Contains("MaxMerges", Assert.Throws<InvalidRequestException>(() => new IlmConfigOverrides { MaxMerges = -2 }.Validate())
            .Message);
    }

    [Theory]
    [InlineData("2025-13-01")]
    [InlineData("yesterday")]
    [InlineData("")]
    public void Invalid_as_of_dates_are_bad_input(string text)
    {
        var e = Assert.Throws<InvalidRequestException>(() => IlmInput.ParseAsOf(text));
        Assert.Equal("AsOf", e.Parameter);
    }
}

public sealed class IlmRunResultTests
{
    [Fact]
    public void Rows_merged_counts_the_months_merged_in_not_the_partitions_they_grew()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));
        var planned = IlmService.PlanOffline(layout, IlmPolicy.Default, new DateOnly(2026, 1, 1), OracleProvider.Instance);
        var merge = Assert.IsType<MergeAction>(Assert.Single(planned.Steps).Action);
        // 1,000 rows in P_2023, 100 in each month: 200 merged in, 1,200 in the grown P_2023.
        var ok = new ActionOutcome(merge, IlmStatus.Success, null, null, TimeSpan.FromSeconds(1), 1200, 1200, []) { RowsMerged = 200 };
        var failed = new ActionOutcome(merge, IlmStatus.Failed, "LockTimeout", ErrorKind.LockTimeout, TimeSpan.Zero, 1200, null,
            []) { RowsMerged = 200 };
        Assert.Equal(200, new IlmRunResult(planned, [ok], [], DryRun: false).RowsMerged);
        Assert.Equal(0, new IlmRunResult(planned, [failed], [], DryRun: false).RowsMerged);
    }
}

public sealed class IlmMonitoringTests
{
    private static IlmSummary Summary(int warmYearly, int warmMonthly)
    {
        var parts = new List<PartitionInfo>();
        for (var i = 0; i < warmYearly; i++) parts.Add(Layouts.Yearly(2000 + i, new DateTime(2001 + i, 1, 1)));
        for (var i = 0; i < warmMonthly; i++) parts.Add(Layouts.Monthly(2100 + i / 12, i % 12 + 1, "TBS_WARM"));
        parts.Add(Layouts.Monthly(2200, 1));
        parts.Add(new PartitionInfo { Name = "SYS_P1", Tablespace = "USERS" });
        return IlmSummary.FromLayout(Layouts.Of(parts), IlmPolicy.Default);
    }

    [Fact]
    public void Summary_counts_yearly_and_monthly_per_tier()
    {
        var s = Summary(3, 2);
        Assert.Equal(["HOT", "WARM", "OTHER"], s.Tiers.Select(t => t.Tier));
        Assert.Equal((3, 2, 5), (s.For(IlmTier.Warm)!.Yearly, s.For(IlmTier.Warm)!.Monthly, s.For(IlmTier.Warm)!.Total));
        Assert.Equal(1, s.For(IlmTier.Hot)!.Monthly);
        Assert.Equal(("USERS", 1), (s.Tiers[2].Tablespace, s.Tiers[2].Other));
    }

    [Fact]
    public void Healthy_numbers_pass()
    {
        var r = IlmHealth.Evaluate("SALES_PART", new MergeStatistics(100, 99, 1, 12m, 60m), 0, Summary(10, 1));
        Assert.True(r.Passed, string.Join("; ", r.Checks.Where(c => !c.Passed).Select(c => c.Message)));
        Assert.Empty(r.Alerts);
    }

    [Fact]
    public void No_history_passes()
    {
        Assert.True(IlmHealth.Evaluate(null, new MergeStatistics(0, 0, 0, null, null), 0, null).Passed);
    }

    [Theory]
    [InlineData(100, 91, 9, 10, 60, 0, "merge success rate")]
    [InlineData(100, 97, 11, 10, 60, 0, "merge failure rate")]
    [InlineData(100, 100, 0, 10, 301, 0, "longest merge")]
    [InlineData(100, 100, 0, 10, 60, 1, "failed merges not retried in 7 days")]
    [InlineData(100, 95, 5, 10, 60, 0, "merge success rate")]
    [InlineData(100, 100, 0, 31, 60, 0, "average merge time")]
    public void Each_alert_and_criterion_can_fail_the_check(long total, long ok, long failed, decimal avg, decimal max, long stale,
        string failing)
    {
        var r = IlmHealth.Evaluate("T", new MergeStatistics(total, ok, failed, avg, max), stale, Summary(10, 1));
        Assert.False(r.Passed);
        Assert.Equal([failing], r.Checks.Where(c => !c.Passed).Select(c => c.Name));
    }

    [Fact]
    public void Too_many_warm_monthly_partitions_fire_the_alert_and_miss_the_share()
    {
        var r = IlmHealth.Evaluate("T", new MergeStatistics(0, 0, 0, null, null), 0, Summary(10, 101));
        Assert.Equal(["WARM monthly partitions", "WARM monthly share"], r.Checks.Where(c => !c.Passed).Select(c => c.Name));
        Assert.Equal(101, r.WarmMonthly);
    }

    [Fact]
    public void Thresholds_are_configurable()
    {
        var stats = new MergeStatistics(100, 85, 15, 10m, 60m);
        Assert.True(IlmHealth.Evaluate("T", stats, 0, null,
            new IlmHealthThresholds { MaxFailureRatePercent = 20, MinSuccessRatePercent = 80 }).Passed);
        Assert.Throws<InvalidRequestException>(() => IlmHealth.Evaluate("T", stats, 0, null, new IlmHealthThresholds { WindowDays = 0 }));
    }
}

public sealed class IlmSimulationTests
{
    private static PartitionLayout TwoYearsOfMonths() =>
        Layouts.Of([Layouts.Yearly(2022, new(2023, 1, 1), rows: 12_000), .. Layouts.Months(2023, 1, 12, rows: 1000),
            .. Layouts.Months(2024, 1, 12, rows: 1000),
            new PartitionInfo { Name = "P_MAX", Tablespace = "TBS_HOT", Compression = "NONE", RowEstimate = 0 }]);

    [Fact]
    public void Steps_month_by_month_and_compares_strategies()
    {
        var result = new IlmService().Simulate(new IlmSimulateRequest(TwoYearsOfMonths(), new(2025, 1, 1), new(2027, 1, 1)));
        Assert.Equal(2, result.Strategies.Count);
        var incremental = result.Strategies.Single(s => s.Strategy == MergeStrategy.Incremental);
        var complete = result.Strategies.Single(s => s.Strategy == MergeStrategy.YearComplete);
        Assert.Equal(25, incremental.Months.Count);

        // At the end both have 2022 and 2023 as WARM yearly partitions and no WARM months left over.
        var lastI = incremental.Months[^1];
        var lastC = complete.Months[^1];
        Assert.Equal((3, 0), (lastI.WarmYearly, lastI.WarmMonthly)); // 2022, 2023, 2024 (Dec 2024 is due at 2027-01-01)
        Assert.Equal((3, 0), (lastC.WarmYearly, lastC.WarmMonthly));
        // New months keep arriving in HOT.
        Assert.Equal(25, lastI.HotMonthly);
        // On Oracle an incremental merge rewrites the growing yearly partition every month; year_complete once.
        Assert.True(complete.RowsRewritten < incremental.RowsRewritten, $"{complete.RowsRewritten} vs {incremental.RowsRewritten}");
        Assert.True(complete.MergeOperations < incremental.MergeOperations);
    }

    [Fact]
    public void Year_complete_keeps_months_monthly_until_december_is_due()
    {
        var result = new IlmService().Simulate(new IlmSimulateRequest(TwoYearsOfMonths(), new(2025, 6, 1), new(2025, 6, 1))
        {
            Strategies = [MergeStrategy.YearComplete],
        });
        var month = Assert.Single(Assert.Single(result.Strategies).Months);
        Assert.Equal(4, month.WarmMonthly); // Feb..May 2023 wait in WARM; January became P_2023
        Assert.Equal(2, month.WarmYearly);
    }

    [Fact]
    public void Postgres_in_place_costs_only_the_months_and_rebuild_the_yearly_too()
    {
        var layout = TwoYearsOfMonths();
        IlmSimulationResult On(Engine.Providers.IDatabaseProvider provider, MergeMethod method) => new IlmService().Simulate(
            new IlmSimulateRequest(layout, new(2025, 1, 1), new(2025, 12, 1))
            {
                Provider = provider, Strategies = [MergeStrategy.Incremental], Policy = IlmPolicy.Default with { MergeMethod = method },
            });
        var oracle = On(OracleProvider.Instance, MergeMethod.Rebuild).Strategies[0];
        var inPlace = On(PostgreSqlProvider.Instance, MergeMethod.InPlace).Strategies[0];
        var rebuild = On(PostgreSqlProvider.Instance, MergeMethod.Rebuild).Strategies[0];
        Assert.True(inPlace.RowsRewritten < oracle.RowsRewritten);
        Assert.Equal(oracle.RowsRewritten, rebuild.RowsRewritten);
        Assert.Empty(oracle.Methods); // Oracle merges with its own statement: no choice to cost

        // Each PostgreSQL walk is costed per method, whatever the policy picked.
        Assert.Equal([MergeMethod.Rebuild, MergeMethod.InPlace], rebuild.Methods.Select(m => m.Method));
        Assert.Equal(rebuild.Methods, inPlace.Methods);
        var (r, i) = (rebuild.Methods[0], rebuild.Methods[1]);
        Assert.Equal((rebuild.RowsRewritten, inPlace.RowsRewritten), (r.RowsRewritten, i.RowsRewritten));
        Assert.Equal(r.AgedRows, i.AgedRows);
        Assert.Contains("metadata only", r.LongestExclusiveLock);
        Assert.Equal(0, r.LongestLockRows);
        Assert.Contains("while the months are copied", i.LongestExclusiveLock);
        Assert.Equal(1000, i.LongestLockRows); // incremental: one month of 1,000 rows at a time
    }

    /// <summary>
    /// Rows written per aged row, as the README reports them. year_complete: each month is moved when it ages and written
    /// again when its year merges (rebuild also rewrites January, which started the yearly partition), so about 2;
    /// incremental with rebuild rewrites the growing yearly partition every month, far more; incremental in_place writes
    /// each month once (it goes straight into the yearly partition), at the price of the exclusive lock during its copy.
    /// </summary>
    [Fact]
    public void Rows_written_per_aged_row_per_strategy_and_method()
    {
        var result = new IlmService().Simulate(new IlmSimulateRequest(TwoYearsOfMonths(), new(2025, 1, 1), new(2027, 1, 1))
        {
            Provider = PostgreSqlProvider.Instance,
            Strategies = [MergeStrategy.YearComplete, MergeStrategy.Incremental],
        });
        double Ratio(int strategy, MergeMethod method) => result.Strategies[strategy].Methods.Single(m => m.Method == method)
            .RowsWrittenPerAgedRow!.Value;
        var (completeRebuild, completeInPlace) = (Ratio(0, MergeMethod.Rebuild), Ratio(0, MergeMethod.InPlace));
        var (incrementalRebuild, incrementalInPlace) = (Ratio(1, MergeMethod.Rebuild), Ratio(1, MergeMethod.InPlace));
        Assert.True(completeRebuild is > 1.8 and < 2.0, $"year_complete rebuild: {completeRebuild}");
        Assert.True(completeInPlace > 1.8 && completeInPlace <= completeRebuild, $"year_complete in_place: {completeInPlace}");
        Assert.True(incrementalRebuild > 2 * completeRebuild, $"incremental rebuild: {incrementalRebuild}");
        Assert.True(incrementalInPlace is > 0.9 and < 1.1, $"incremental in_place: {incrementalInPlace}");
    }

    /// <summary>
    /// move_before_merge: false with year_complete: a due month waits where it is for its year's merge, which places the
    /// whole year in the tier, so each aged row is written about once (the merge) instead of about twice (its move, then
    /// the merge), with either method.
    /// </summary>
    [Fact]
    public void Year_complete_without_moves_before_the_merge_writes_each_aged_row_about_once()
    {
        IlmSimulationResult Walk(bool moveBeforeMerge) =>
            new IlmService().Simulate(new IlmSimulateRequest(TwoYearsOfMonths(), new(2025, 1, 1), new(2027, 1, 1))
            {
                Provider = PostgreSqlProvider.Instance,
                Policy = IlmPolicy.Default with { Strategy = MergeStrategy.YearComplete, MoveBeforeMerge = moveBeforeMerge },
                Strategies = [MergeStrategy.YearComplete],
            });
        var moved = Walk(true).Strategies[0];
        var waited = Walk(false).Strategies[0];
        double Ratio(StrategySimulation s, MergeMethod method) => s.Methods.Single(m => m.Method == method).RowsWrittenPerAgedRow!.Value;
        Assert.Equal(moved.Methods[0].AgedRows, waited.Methods[0].AgedRows);
        Assert.True(waited.Methods[0].AgedRows > 0);
        Assert.True(Ratio(moved, MergeMethod.Rebuild) > 1.8, $"moved first, rebuild: {Ratio(moved, MergeMethod.Rebuild)}");
        foreach (var method in new[] { MergeMethod.Rebuild, MergeMethod.InPlace })
            Assert.True(Ratio(waited, method) is >= 0.99 and < 1.1, $"not moved first, {method}: {Ratio(waited, method)}");
    }

    [Fact]
    public void To_before_from_is_bad_input()
    {
        var e = Assert.Throws<InvalidRequestException>(() => new IlmService()
            .Simulate(new IlmSimulateRequest(TwoYearsOfMonths(), new(2025, 1, 1), new(2024, 1, 1))));
        Assert.Equal("To", e.Parameter);
    }
}

public sealed class IlmOfflinePlanTests
{
    [Fact]
    public async Task Plan_from_a_layout_file_shows_the_chosen_providers_statements()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11), Layouts.Monthly(2023, 12));
        var path = Path.Combine(Path.GetTempPath(), $"layout-{Guid.NewGuid():N}.json");
        LayoutJson.Save(layout, path);
        try
        {
            var result = await new IlmService().PlanAsync(new IlmPlanRequest
            {
                Layout = LayoutJson.Load(path),
                Provider = ProviderRegistry.Get("oracle"),
                AsOf = new DateOnly(2026, 1, 1),
            });
            var step = Assert.Single(result.Steps);
            Assert.Equal(
            [
                "ALTER TABLE \"CMR\".\"SALES_PART\" MERGE PARTITIONS \"P_2023\", \"P_2023_11\", \"P_2023_12\" INTO PARTITION " +
                    "\"P_2023_12\" TABLESPACE \"TBS_WARM\" ROW STORE COMPRESS BASIC UPDATE INDEXES",
                "ALTER TABLE \"CMR\".\"SALES_PART\" RENAME PARTITION \"P_2023_12\" TO \"P_2023\"",
            ], step.Statements.Select(s => s.Text));
            Assert.Equal("ALTER SESSION SET DDL_LOCK_TIMEOUT = 30", Assert.Single(result.SessionSetup).Text);
            Assert.Equal("oracle", result.Provider);

            // --json: the whole result is one JSON document.
            var json = System.Text.Json.JsonSerializer.Serialize(result, LayoutJson.Options);
            Assert.Contains("\"statements\": [", json);
            Assert.Contains("RENAME PARTITION", json);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Offline_postgres_plan_needs_the_key_and_columns_of_a_postgres_snapshot()
    {
        var layout = Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11));
        var e = await Assert.ThrowsAsync<InvalidRequestException>(() => new IlmService().PlanAsync(new IlmPlanRequest
        {
            Layout = layout,
            Provider = PostgreSqlProvider.Instance,
            AsOf = new DateOnly(2026, 1, 1),
        }));
        Assert.Contains("partition_key", e.Message);
    }

    [Fact]
    public async Task Offline_plan_without_provider_is_bad_input()
    {
        var e = await Assert.ThrowsAsync<InvalidRequestException>(() => new IlmService()
            .PlanAsync(new IlmPlanRequest { Layout = Layouts.Of(Layouts.Monthly(2023, 1)) }));
        Assert.Equal("Provider", e.Parameter);
    }

    [Fact]
    public void Plans_serialize_to_json_with_their_kind()
    {
        var plan = IlmPlanner.Plan(Layouts.Of(Layouts.Yearly(2023, new(2023, 11, 1)), Layouts.Monthly(2023, 11)), IlmPolicy.Default,
            new DateOnly(2026, 1, 1));
        var json = System.Text.Json.JsonSerializer.Serialize(plan.Actions, LayoutJson.Options);
        Assert.Contains("\"action\": \"merge\"", json);
        Assert.Contains("\"tier\": \"warm\"", json);
        Assert.Contains("\"target_name\": \"P_2023\"", json);
    }
}
