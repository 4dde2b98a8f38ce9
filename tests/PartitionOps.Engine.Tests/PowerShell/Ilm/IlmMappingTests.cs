using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;
using PartitionOps.PowerShell.Ilm;
using PartitionOps.PowerShell.Cmdlets;

namespace PartitionOps.Engine.Tests.PowerShell.Ilm;

/// <summary>Each ILM cmdlet's parameters -> the engine request, host-free.</summary>
public class IlmMappingTests
{
    private static readonly DatabaseTarget Pg = new(PostgreSqlProvider.Instance, "Host=pg01;Database=dwh");
    private static readonly DatabaseTarget Sql = new(SqlServerProvider.Instance, "Server=sql01;Database=dwh;Integrated Security=true");

    private static InvalidRequestException Bad(Action action) => Assert.Throws<InvalidRequestException>(action);

    // ------------------------------------------------------------ defaults

    [Fact]
    public void Get_IlmMergeCandidate_without_options_is_the_engines_plan_request()
    {
        var request = IlmMapping.ToPlanRequest(Pg, new GetIlmMergeCandidateCommand { Table = "sales" }.GetParameters());
        var engine = new IlmPlanRequest { Target = Pg, Table = "sales" };
        Assert.Equal(engine with { Overrides = request.Overrides, Policy = request.Policy }, request);
        Assert.Equal(engine.Overrides, request.Overrides);
        Assert.Equal(IlmPolicy.Default, request.Policy);
        Assert.Null(request.AsOf);
        Assert.Null(request.Schema);
        Assert.Null(request.ControlSchema);
    }

    [Fact]
    public void Invoke_IlmMaintenance_without_options_is_the_engines_run_request()
    {
        var request = IlmMapping.ToRunRequest(Pg, new InvokeIlmMaintenanceCommand { Table = "sales" }.GetParameters());
        var engine = new IlmRunRequest(Pg, "sales");
        Assert.Equal(engine.Overrides, request.Overrides);
        Assert.Equal(engine.Policy, request.Policy);
        Assert.Equal((engine.AsOf, engine.MaxDuration, engine.DryRun, engine.Schema, engine.ControlSchema),
            (request.AsOf, request.MaxDuration, request.DryRun, request.Schema, request.ControlSchema));
        // Engine defaults the help states: config from dwh_ilm_config (spec values), as of today.
        Assert.Equal((true, 30, true, 50), (IlmConfig.Default.AutoMergePartitions, IlmConfig.Default.MergeLockTimeoutSeconds,
            IlmConfig.Default.MergeRetryFailed, IlmConfig.Default.MaxMergesPerRun));
    }

    [Fact]
    public void History_health_summary_and_config_without_options_are_the_engines_requests()
    {
        var history = IlmMapping.ToHistoryRequest(Pg, new GetIlmMergeHistoryCommand().GetParameters());
        Assert.Equal(new IlmHistoryRequest(Pg), history);
        Assert.Equal(100, history.MaxRows);

        var health = IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand().GetParameters());
        Assert.Equal(new IlmHealthThresholds(), health.Thresholds);
        Assert.Null(health.Table);
        Assert.Equal(IlmPolicy.Default, health.Policy);
        Assert.False(health.VerifyIndexes);
        // The PowerShellStandard stub's SwitchParameter ignores its value: the switch's IsPresent read is covered by Pester.
        Assert.True(IlmMapping.ToHealthRequest(Pg,
            new TestIlmHealthCommand { Table = "sales" }.GetParameters() with { VerifyIndexes = true }).VerifyIndexes);
        var t = health.Thresholds;
        Assert.Equal((7, 10m, 300m, 100, 7, 20m, 95m, 30m),
            (t.WindowDays, t.MaxFailureRatePercent, t.MaxMergeSeconds, t.MaxWarmMonthlyPartitions,
            t.FailedNotRetriedDays, t.MaxWarmMonthlyPercent, t.MinSuccessRatePercent, t.MaxAverageMergeSeconds));

        var (summary, policy) = IlmMapping.ToSummaryRequest(Pg, new GetIlmPartitionSummaryCommand { Table = "SALES_PART" }.GetParameters());
        Assert.Equal(new IlmTableRequest(Pg, "SALES_PART"), summary);
        Assert.Same(IlmPolicy.Default, policy);

        Assert.Equal(new IlmConfigRequest(Pg), IlmMapping.ToConfigRequest(Pg, new GetIlmConfigCommand().GetParameters()));
    }

    // ------------------------------------------------------------ every parameter

    [Fact]
    public void Run_parameters_reach_the_request()
    {
        var cmdlet = new InvokeIlmMaintenanceCommand
        {
            Table = "sales", Schema = "dwh", ControlSchema = "ilm", AsOf = "2025-11-01",
            MaxMerges = 5, LockTimeoutSeconds = 12, MaxDuration = TimeSpan.FromHours(2),
        };
        var r = IlmMapping.ToRunRequest(Pg, cmdlet.GetParameters());
        Assert.Equal(("sales", "dwh", "ilm", new DateOnly(2025, 11, 1), TimeSpan.FromHours(2)),
            (r.Table, r.Schema, r.ControlSchema, r.AsOf, r.MaxDuration));
        Assert.Equal(new IlmConfigOverrides { MaxMerges = 5, LockTimeoutSeconds = 12 }, r.Overrides);
        Assert.False(r.DryRun);
        Assert.True(IlmMapping.ToRunRequest(Pg, cmdlet.GetParameters(), dryRun: true).DryRun);
    }

    [Fact]
    public void A_policy_file_is_loaded()
    {
        var path = Path.Combine(Path.GetTempPath(), $"po-ilm-{Guid.NewGuid():N}.json");
        File.WriteAllText(path,
            """{ "tier_config": { "hot": { "age_months": 12 }, "warm": { "age_months": 36, "tablespace": "WARM2" } } }""");
        try
        {
            var p = new GetIlmMergeCandidateCommand { Table = "sales" }.GetParameters() with { Policy = path };
            var policy = IlmMapping.ToPlanRequest(Pg, p).Policy;
            Assert.Equal((12, 36, "WARM2"), (policy.WarmAfterMonths, policy.ColdAfterMonths, policy.Warm.Tablespace));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AsOf_takes_a_DateTime_a_DateOnly_a_DateTimeOffset_or_text()
    {
        Assert.Null(IlmMapping.AsOf(null));
        Assert.Equal(new DateOnly(2025, 3, 1), IlmMapping.AsOf(new DateTime(2025, 3, 1, 17, 45, 0)));
        Assert.Equal(new DateOnly(2025, 3, 1), IlmMapping.AsOf(new DateOnly(2025, 3, 1)));
        Assert.Equal(new DateOnly(2025, 3, 1), IlmMapping.AsOf(new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.FromHours(2))));
        Assert.Equal(new DateOnly(2025, 3, 1), IlmMapping.AsOf(" 2025-03-01 "));
    }

    [Fact]
    public void Manual_merge_and_piped_candidates_keep_the_tables_config()
    {
        // The engine treats any choice (IlmRunRequest.Only) as explicit: AUTO_MERGE_PARTITIONS = N and
        // MERGE_RETRY_FAILED = N do not hold it back, so the cmdlet overrides nothing but what it was given.
        var p = new InvokeIlmPartitionMergeCommand { Table = "sales", Partition = "p_2023_11", LockTimeoutSeconds = 5 }.GetParameters();
        Assert.True(p.ExplicitMerge);
        Assert.Equal(new IlmConfigOverrides { LockTimeoutSeconds = 5 }, IlmMapping.ToRunRequest(Pg, p).Overrides);
        var piped = new InvokeIlmPartitionMergeCommand { Table = "sales", Action = "Merge",
            SourcePartition = ["p_2023", "p_2023_11"] }.GetParameters();
        Assert.False(piped.ExplicitMerge);
        Assert.Equal(new IlmConfigOverrides(), IlmMapping.ToRunRequest(Pg, piped).Overrides);
    }

    [Fact]
    public void Health_thresholds_reach_the_request()
    {
        var cmdlet = new TestIlmHealthCommand
        {
            Table = "sales", WindowDays = 30, MaxFailureRatePercent = 5, MaxMergeSeconds = 60, MaxWarmMonthlyPartitions = 10,
            FailedNotRetriedDays = 3, MaxWarmMonthlyPercent = 50, MinSuccessRatePercent = 90, MaxAverageMergeSeconds = 20,
        };
        var r = IlmMapping.ToHealthRequest(Pg, cmdlet.GetParameters());
        Assert.Equal("sales", r.Table);
        Assert.Equal(new IlmHealthThresholds
        {
            WindowDays = 30, MaxFailureRatePercent = 5, MaxMergeSeconds = 60, MaxWarmMonthlyPartitions = 10,
            FailedNotRetriedDays = 3, MaxWarmMonthlyPercent = 50, MinSuccessRatePercent = 90, MaxAverageMergeSeconds = 20,
        }, r.Thresholds);
    }

    [Fact]
    public void History_takes_table_schema_and_max_rows()
    {
        var r = IlmMapping.ToHistoryRequest(Pg,
            new GetIlmMergeHistoryCommand { Table = "sales", Schema = "dwh", ControlSchema = "ilm", MaxRows = 10 }.GetParameters());
        Assert.Equal(new IlmHistoryRequest(Pg) { Table = "sales", Schema = "dwh", ControlSchema = "ilm", MaxRows = 10 }, r);
    }

    [Theory]
    [InlineData("auto_merge_partitions", " n ", "AUTO_MERGE_PARTITIONS", "N")]
    [InlineData("AUTO_MERGE_PARTITIONS", "yes", "AUTO_MERGE_PARTITIONS", "Y")]
    [InlineData("MERGE_LOCK_TIMEOUT", "60", "MERGE_LOCK_TIMEOUT", "60")]
    [InlineData("MERGE_LOCK_TIMEOUT", " 060 ", "MERGE_LOCK_TIMEOUT", "60")]
    [InlineData("MERGE_RETRY_FAILED", "Y", "MERGE_RETRY_FAILED", "Y")]
    [InlineData("MERGE_RETRY_FAILED", "FALSE", "MERGE_RETRY_FAILED", "N")]
    [InlineData("MERGE_RETRY_FAILED", "1", "MERGE_RETRY_FAILED", "Y")]
    [InlineData("MAX_MERGES_PER_RUN", "0", "MAX_MERGES_PER_RUN", "0")]
    public void Set_IlmConfig_normalises_the_key_and_the_value_as_stored(string key, string value, string storedKey, string storedValue)
    {
        var r = IlmMapping.ToSetConfigRequest(Pg,
            new SetIlmConfigCommand { Key = key, Value = value, ControlSchema = "ilm" }.GetParameters());
        Assert.Equal(new IlmSetConfigRequest(Pg, storedKey, storedValue) { ControlSchema = "ilm" }, r);
        var sql = Assert.Single(IlmMapping.SetConfigPlan(r));
        Assert.Contains("dwh_ilm_config", sql.Text);
        Assert.Contains(sql.Parameters, x => Equals(x.Value, storedValue));
    }

    [Fact]
    public void Set_IlmConfig_ValidateSet_is_the_engines_key_list()
    {
        var set = typeof(SetIlmConfigCommand).GetProperty("Key")!.GetCustomAttributesData()
            .Single(a => a.AttributeType == typeof(System.Management.Automation.ValidateSetAttribute));
        var values = ((IEnumerable<System.Reflection.CustomAttributeTypedArgument>)set.ConstructorArguments[0].Value!)
            .Select(v => (string)v.Value!);
        Assert.Equal(IlmMapping.ConfigKeys, values);
        Assert.Equal(IlmConfig.Defaults.Select(d => d.Key), IlmMapping.ConfigKeys);
    }

    // ------------------------------------------------------------ bad input names the cmdlet parameter

    public static TheoryData<string, Func<object>> BadInput() => new()
    {
        { "-MaxMerges", () => IlmMapping.ToRunRequest(Pg,
            new InvokeIlmMaintenanceCommand { Table = "sales", MaxMerges = -1 }.GetParameters()) },
        { "-MaxMerges", () => IlmMapping.ToPlanRequest(Pg,
            new GetIlmMergeCandidateCommand { Table = "sales", MaxMerges = -1 }.GetParameters()) },
        { "-LockTimeoutSeconds", () =>
            IlmMapping.ToRunRequest(Pg, new InvokeIlmMaintenanceCommand { Table = "sales", LockTimeoutSeconds = 0 }.GetParameters()) },
        { "-LockTimeoutSeconds", () =>
            IlmMapping.ToRunRequest(Pg, new InvokeIlmPartitionMergeCommand { Table = "sales", Partition = "p_2023_11",
            LockTimeoutSeconds = -3 }.GetParameters()) },
        { "-MaxDuration", () => IlmMapping.ToRunRequest(Pg,
            new InvokeIlmMaintenanceCommand { Table = "sales", MaxDuration = TimeSpan.FromMinutes(-1) }.GetParameters()) },
        { "-AsOf", () => IlmMapping.ToPlanRequest(Pg,
            new GetIlmMergeCandidateCommand { Table = "sales", AsOf = "yesterday" }.GetParameters()) },
        { "-AsOf", () => IlmMapping.ToRunRequest(Pg,
            new InvokeIlmMaintenanceCommand { Table = "sales", AsOf = "2025-13-01" }.GetParameters()) },
        { "-AsOf", () => IlmMapping.ToRunRequest(Pg,
            new InvokeIlmPartitionMergeCommand { Table = "sales", Partition = "p_2023_11", AsOf = 20251101 }.GetParameters()) },
        { "-Table", () => IlmMapping.ToPlanRequest(Pg, new GetIlmMergeCandidateCommand { Table = "sales; drop table x" }.GetParameters()) },
        { "-Table", () => IlmMapping.ToRunRequest(Pg, new InvokeIlmMaintenanceCommand { Table = " " }.GetParameters()) },
        { "-Schema", () => IlmMapping.ToPlanRequest(Pg,
            new GetIlmMergeCandidateCommand { Table = "sales", Schema = "a.b" }.GetParameters()) },
        { "-ControlSchema", () => IlmMapping.ToConfigRequest(Pg, new GetIlmConfigCommand { ControlSchema = "x y" }.GetParameters()) },
        { "-Policy", () => IlmMapping.ToPlanRequest(Pg,
            new GetIlmMergeCandidateCommand { Table = "sales" }.GetParameters() with { Policy = "/nonexistent/policy.json" }) },
        { "-Provider", () => IlmMapping.ToPlanRequest(Sql, new GetIlmMergeCandidateCommand { Table = "sales" }.GetParameters()) },
        { "-MaxRows", () => IlmMapping.ToHistoryRequest(Pg, new GetIlmMergeHistoryCommand { MaxRows = 0 }.GetParameters()) },
        { "-WindowDays", () => IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { WindowDays = 0 }.GetParameters()) },
        { "-FailedNotRetriedDays", () =>
            IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { FailedNotRetriedDays = -1 }.GetParameters()) },
        { "-MaxFailureRatePercent", () =>
            IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { MaxFailureRatePercent = 101 }.GetParameters()) },
        { "-MinSuccessRatePercent", () =>
            IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { MinSuccessRatePercent = -5 }.GetParameters()) },
        { "-MaxWarmMonthlyPercent", () =>
            IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { MaxWarmMonthlyPercent = 200 }.GetParameters()) },
        { "-MaxMergeSeconds", () => IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { MaxMergeSeconds = -1 }.GetParameters()) },
        { "-MaxWarmMonthlyPartitions",
            () => IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { MaxWarmMonthlyPartitions = -1 }.GetParameters()) },
        { "-MaxAverageMergeSeconds", () =>
            IlmMapping.ToHealthRequest(Pg, new TestIlmHealthCommand { MaxAverageMergeSeconds = -1 }.GetParameters()) },
        { "-Key", () => IlmMapping.ToSetConfigRequest(Pg, new SetIlmConfigCommand { Key = "NOT_A_KEY", Value = "1" }.GetParameters()) },
        { "-Key", () => IlmMapping.ToSetConfigRequest(Pg, new SetIlmConfigCommand { Key = "", Value = "1" }.GetParameters()) },
        { "-Value", () => IlmMapping.ToSetConfigRequest(Pg,
            new SetIlmConfigCommand { Key = "AUTO_MERGE_PARTITIONS", Value = "maybe" }.GetParameters()) },
        { "-Value", () => IlmMapping.ToSetConfigRequest(Pg,
            new SetIlmConfigCommand { Key = "MERGE_LOCK_TIMEOUT", Value = "0" }.GetParameters()) },
        { "-Value", () => IlmMapping.ToSetConfigRequest(Pg,
            new SetIlmConfigCommand { Key = "MAX_MERGES_PER_RUN", Value = "-1" }.GetParameters()) },
        { "-Value", () => IlmMapping.ToSetConfigRequest(Pg,
            new SetIlmConfigCommand { Key = "MERGE_RETRY_FAILED", Value = " " }.GetParameters()) },
        { "-Partition", () => InvokeIlmPartitionMergeCommand.Selection(null, null, null, null)! },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Bad_values_are_invalid_requests_naming_the_cmdlet_parameter(string parameter, Func<object> map)
    {
        var e = Bad(() => map());
        Assert.Equal(parameter, e.Parameter);
        Assert.StartsWith(parameter + " ", e.Message);
        Assert.DoesNotContain("--", e.Message.Replace("-- ", ""), StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_config_value_keeps_its_key_in_the_message()
    {
        var e = Bad(() => IlmMapping.ToSetConfigRequest(Pg,
            new SetIlmConfigCommand { Key = "MAX_MERGES_PER_RUN", Value = "lots" }.GetParameters()));
        Assert.Equal("-Value 'lots' for MAX_MERGES_PER_RUN must be a whole number from 0 to 100,000", e.Message);
        var key = Bad(() => IlmMapping.ToSetConfigRequest(Pg, new SetIlmConfigCommand { Key = "MAX_MERGES", Value = "1" }.GetParameters()));
        Assert.Contains("AUTO_MERGE_PARTITIONS, MERGE_LOCK_TIMEOUT, MERGE_RETRY_FAILED, MAX_MERGES_PER_RUN", key.Message);
    }

    [Fact]
    public void Engine_errors_from_a_run_are_translated_too()
    {
        // What the engine throws while running (e.g. a table that is not partitioned) goes through Translate.
        var e = IlmMapping.Translate(new InvalidRequestException("Table", "sales", "is not range partitioned"));
        Assert.Equal(("-Table", "-Table 'sales' is not range partitioned"), (e.Parameter, e.Message));
        var other = new InvalidRequestException("tablespace", "TBS_WARM", "does not exist");
        Assert.Same(other, IlmMapping.Translate(other));
    }

    [Fact]
    public void Maintenance_budgets_span_the_piped_tables()
    {
        var p = new IlmParameters { Table = "sales", MaxMerges = 10, MaxDuration = TimeSpan.FromMinutes(60) };
        var next = InvokeIlmMaintenanceCommand.Remaining(p, mergesUsed: 4, elapsed: TimeSpan.FromMinutes(45))!;
        Assert.Equal((6, TimeSpan.FromMinutes(15)), (next.MaxMerges, next.MaxDuration));
        Assert.Equal(0, InvokeIlmMaintenanceCommand.Remaining(p, 12, TimeSpan.Zero)!.MaxMerges);
        Assert.Null(InvokeIlmMaintenanceCommand.Remaining(p, 0, TimeSpan.FromMinutes(60)));
        var unlimited = InvokeIlmMaintenanceCommand.Remaining(new IlmParameters { Table = "sales" }, 7, TimeSpan.FromHours(5))!;
        Assert.Equal(((int?)null, (TimeSpan?)null), (unlimited.MaxMerges, unlimited.MaxDuration));
    }
}
