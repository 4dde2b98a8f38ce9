using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;
using PartitionOps.PowerShell.Backfill;
using PartitionOps.PowerShell.Cmdlets;

namespace PartitionOps.Engine.Tests.PowerShell.Backfill;

/// <summary>Each backfill cmdlet's parameters -> the engine request, host-free.</summary>
public class BackfillMappingTests
{
    private static readonly DatabaseTarget Pg = new(PostgreSqlProvider.Instance, "Host=pg01;Database=fhir");
    private static readonly DatabaseTarget Sql = new(SqlServerProvider.Instance, "Server=sql01;Database=fhir;Integrated Security=true");

    private static BackfillRequest EngineDefaults(DatabaseTarget target) => new() { Scope = new BackfillScope { Target = target } };

    public static TheoryData<string> RunCmdlets() => new() { "Start", "Undo", "Prerequisite" };

    private static BackfillCmdlet Create(string kind) => kind switch
    {
        "Start" => new StartPartitionBackfillCommand(),
        "Undo" => new UndoPartitionBackfillCommand(),
        "Prerequisite" => new TestBackfillPrerequisiteCommand(),
        "Progress" => new GetBackfillProgressCommand(),
        "Integrity" => new TestBackfillIntegrityCommand(),
        "Stop" => new StopPartitionBackfillCommand(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [InlineData("Start")]
    [InlineData("Undo")]
    [InlineData("Prerequisite")]
    [InlineData("Progress")]
    [InlineData("Integrity")]
    [InlineData("Stop")]
    public void Parameters_not_given_keep_the_engines_defaults(string kind)
    {
        var cmdlet = Create(kind);
        Assert.Equal(EngineDefaults(Pg), BackfillMapping.ToRequest(Pg, cmdlet.GetParameters()));
        var scope = BackfillMapping.ToScope(Sql, cmdlet.GetParameters());
        Assert.Equal(new BackfillScope { Target = Sql }, scope);
        Assert.Same(BackfillProfile.Fhir, scope.Profile);
        Assert.Null(scope.Schema);
        Assert.Null(scope.ControlSchema);
        Assert.Empty(scope.ResourceTypes);
    }

    [Fact]
    public void Engine_defaults_are_what_the_help_says()
    {
        // module/docs states these as "Default value"; a change in the engine must change the help too.
        var d = EngineDefaults(Pg);
        Assert.Equal(1000, d.BatchSize);
        Assert.Equal(500, d.TargetBatchTime.TotalMilliseconds);
        Assert.Equal(TimeSpan.Zero, d.Delay);
        Assert.Equal(1, d.Parallelism);
        Assert.Null(d.MaxDuration);
        Assert.Equal(5000, d.BatchLockTimeout.TotalMilliseconds);
        Assert.Equal(30, d.Throttle.MaxReplicaLagSeconds);
        Assert.Equal(80, d.Throttle.MaxLogUsedPercent);
        Assert.Null(d.Throttle.CustomQuery);
        Assert.Equal(4, d.Index.MaxDop);
        Assert.Equal("PAGE", d.Index.DataCompression);
        Assert.Equal(240, d.Index.MaxDurationMinutes);
        Assert.False(d.Index.AllowOffline);
        Assert.False(d.SkipIndexes);
    }

    [Fact]
    public void Start_maps_every_parameter()
    {
        var cmdlet = new StartPartitionBackfillCommand
        {
            Schema = "fhir",
            ControlSchema = "ops",
            ResourceType = ["ValueSet", "CodeSystem"],
            BatchSize = 2500,
            TargetBatchMilliseconds = 250,
            DelayMilliseconds = 20,
            Parallel = 3,
            MaxDuration = TimeSpan.FromHours(2.75),
            LockTimeoutMilliseconds = 1500,
            ThrottleQuery = "SELECT 0",
            MaxReplicaLagSeconds = 10,
            MaxLogUsedPercent = 60,
            MaxDop = 8,
            DataCompression = "row",
            IndexMaxDurationMinutes = 60,
        };
        var r = BackfillMapping.ToRequest(Sql, cmdlet.GetParameters());
        Assert.Same(Sql, r.Scope.Target);
        Assert.Equal("fhir", r.Scope.Schema);
        Assert.Equal("ops", r.Scope.ControlSchema);
        Assert.Equal(["ValueSet", "CodeSystem"], r.Scope.ResourceTypes);
        Assert.Equal(BackfillDirection.Backfill, r.Direction);
        Assert.Equal(2500, r.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(250), r.TargetBatchTime);
        Assert.Equal(TimeSpan.FromMilliseconds(20), r.Delay);
        Assert.Equal(3, r.Parallelism);
        Assert.Equal(TimeSpan.FromMinutes(165), r.MaxDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), r.BatchLockTimeout);
        Assert.Equal("SELECT 0", r.Throttle.CustomQuery);
        Assert.Equal(10, r.Throttle.MaxReplicaLagSeconds);
        Assert.Equal(60, r.Throttle.MaxLogUsedPercent);
        Assert.Equal(new ThrottleOptions().MaxBlockedSessions, r.Throttle.MaxBlockedSessions);
        Assert.Equal(8, r.Index.MaxDop);
        Assert.Equal("ROW", r.Index.DataCompression);
        Assert.Equal(60, r.Index.MaxDurationMinutes);
        Assert.False(r.DryRun);
    }

    [Fact]
    public void Switches_map_to_skip_indexes_and_offline_consent()
    {
        // The PowerShellStandard stub's SwitchParameter ignores its value (IsPresent is always false), so the
        // cmdlets' one-line IsPresent reads are covered by the Pester tests; the mapping of the values is here.
        var r = BackfillMapping.ToRequest(Sql, new BackfillParameters { SkipIndexes = true, AllowOfflineIndexBuild = true });
        Assert.True(r.SkipIndexes);
        Assert.True(r.Index.AllowOffline);
        Assert.True(r.Index.Online);
        Assert.Equal(EngineDefaults(Sql) with { SkipIndexes = true, Index = new IndexBuildOptions { AllowOffline = true } }, r);
    }

    [Fact]
    public void Undo_maps_the_run_parameters_and_leaves_index_options_alone()
    {
        var cmdlet = new UndoPartitionBackfillCommand { ResourceType = ["SearchParameter"], BatchSize = 300, Parallel = 2,
            MaxDuration = TimeSpan.FromMinutes(5), DelayMilliseconds = 100 };
        var r = BackfillMapping.ToRequest(Pg, cmdlet.GetParameters());
        Assert.Equal(["SearchParameter"], r.Scope.ResourceTypes);
        Assert.Equal(300, r.BatchSize);
        Assert.Equal(2, r.Parallelism);
        Assert.Equal(TimeSpan.FromMinutes(5), r.MaxDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(100), r.Delay);
        Assert.Equal(new IndexBuildOptions(), r.Index);
        Assert.Equal(new ThrottleOptions(), r.Throttle);
    }

    [Fact]
    public void Prerequisite_maps_batch_size()
    {
        var r = BackfillMapping.ToRequest(Sql, new TestBackfillPrerequisiteCommand { BatchSize = 200, Schema = "dbo" }.GetParameters());
        Assert.Equal(200, r.BatchSize);
        Assert.Equal("dbo", r.Scope.Schema);
    }

    [Fact]
    public void Progress_and_integrity_map_the_scope()
    {
        foreach (BackfillScopeCmdlet cmdlet in new BackfillScopeCmdlet[] { new GetBackfillProgressCommand(),
            new TestBackfillIntegrityCommand() })
        {
            cmdlet.Schema = "s1";
            cmdlet.ControlSchema = "c1";
            cmdlet.ResourceType = ["ValueSet", " ValueSet ", "", "CodeSystem"];
            var scope = BackfillMapping.ToScope(Pg, cmdlet.GetParameters());
            Assert.Equal("s1", scope.Schema);
            Assert.Equal("c1", scope.ControlSchema);
            Assert.Equal(["ValueSet", "CodeSystem"], scope.ResourceTypes);
        }
    }

    [Fact]
    public void Profile_fhir_is_the_built_in_profile_and_a_file_is_loaded()
    {
        Assert.Same(BackfillProfile.Fhir, BackfillMapping.ToScope(Pg, new BackfillParameters { Profile = "FHIR" }).Profile);
        var path = Path.Combine(Path.GetTempPath(), $"po-profile-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path,
                """{ "table": "Item", "system_types": ["A"], "system_index_name": "IX_A", "default_index_name": "IX_B" }""");
            var scope = BackfillMapping.ToScope(Pg, new BackfillParameters { Profile = path });
            Assert.Equal("Item", scope.Profile.Table);
            Assert.Equal(["A"], scope.Profile.SystemTypes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DisableThrottle_switches_limits_off_and_MaxBlockedSessions_sets_one()
    {
        var r = BackfillMapping.ToRequest(Pg, new StartPartitionBackfillCommand
        {
            DisableThrottle = ["replicalag", "BlockedSessions"], MaxLogUsedPercent = 90,
        }.GetParameters());
        Assert.Equal(new ThrottleOptions { MaxReplicaLagSeconds = null, MaxLogUsedPercent = 90, MaxBlockedSessions = null }, r.Throttle);

        var blocked = BackfillMapping.ToRequest(Pg, new UndoPartitionBackfillCommand { MaxBlockedSessions = 3 }.GetParameters());
        Assert.Equal(new ThrottleOptions { MaxBlockedSessions = 3 }, blocked.Throttle);

        var all = BackfillMapping.ToRequest(Pg, new BackfillParameters { DisableThrottle = ["ReplicaLag", "LogUsed", "BlockedSessions"] });
        Assert.True(all.Throttle.AllOff);
    }

    public static TheoryData<string, BackfillParameters> BadValues() => new()
    {
        { "-DisableThrottle", new() { DisableThrottle = ["Replica"] } },
        { "-DisableThrottle", new() { DisableThrottle = ["1"] } },
        { "-DisableThrottle", new() { DisableThrottle = ["ReplicaLag"], MaxReplicaLagSeconds = 10 } },
        { "-DisableThrottle", new() { DisableThrottle = ["BlockedSessions"], MaxBlockedSessions = 0 } },
        { "-MaxBlockedSessions", new() { MaxBlockedSessions = -1 } },
        { "-BatchSize", new() { BatchSize = -5 } },
        { "-BatchSize", new() { BatchSize = 0 } },
        { "-TargetBatchMilliseconds", new() { TargetBatchMilliseconds = -1 } },
        { "-DelayMilliseconds", new() { DelayMilliseconds = -1 } },
        { "-Parallel", new() { Parallel = 0 } },
        { "-Parallel", new() { Parallel = 65 } },
        { "-MaxDuration", new() { MaxDuration = TimeSpan.Zero } },
        { "-MaxDuration", new() { MaxDuration = TimeSpan.FromMinutes(-1) } },
        { "-LockTimeoutMilliseconds", new() { LockTimeoutMilliseconds = 0 } },
        { "-LockTimeoutMilliseconds", new() { LockTimeoutMilliseconds = -100 } },
        { "-ThrottleQuery", new() { ThrottleQuery = "  " } },
        { "-MaxReplicaLagSeconds", new() { MaxReplicaLagSeconds = -1 } },
        { "-MaxLogUsedPercent", new() { MaxLogUsedPercent = 101 } },
        { "-MaxLogUsedPercent", new() { MaxLogUsedPercent = -1 } },
        { "-MaxDop", new() { MaxDop = -1 } },
        { "-DataCompression", new() { DataCompression = "ZIP" } },
        { "-IndexMaxDurationMinutes", new() { IndexMaxDurationMinutes = 0 } },
        { "-Profile", new() { Profile = "/no/such/profile.json" } },
        { "-Schema", new() { Schema = "bad\"name" } },
        { "-ControlSchema", new() { ControlSchema = "x;drop" } },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Bad_values_are_invalid_requests_naming_the_cmdlet_parameter(string parameter, BackfillParameters p)
    {
        var e = Assert.Throws<InvalidRequestException>(() => BackfillMapping.ToRequest(Pg, p));
        Assert.Equal(parameter, e.Parameter);
        Assert.StartsWith(parameter + " '", e.Message);
        Assert.DoesNotContain("--", e.Message.Split(' ')[0]);
    }

    [Fact]
    public void Negative_BatchSize_from_the_cmdlet_names_BatchSize()
    {
        var cmdlet = new StartPartitionBackfillCommand { BatchSize = -1 };
        var e = Assert.Throws<InvalidRequestException>(() => BackfillMapping.ToRequest(Pg, cmdlet.GetParameters()));
        Assert.Equal("-BatchSize '-1' must be between 1 and 1,000,000 rows", e.Message);
        Assert.Equal(-1, e.Value);
    }

    [Fact]
    public void Engine_errors_raised_while_running_name_the_cmdlet_parameter()
    {
        // E.g. BackfillContext checks -ResourceType against the profile once it has read the catalog.
        var e = BackfillMapping.Translate(
            new InvalidRequestException("ResourceTypes", "Patient", "is not one of the profile's system types (X)"));
        Assert.Equal("-ResourceType", e.Parameter);
        Assert.Equal("-ResourceType 'Patient' is not one of the profile's system types (X)", e.Message);
        var online = BackfillMapping.Translate(new InvalidRequestException("AllowOffline", "off", "is required on Standard Edition"));
        Assert.Equal("-AllowOfflineIndexBuild", online.Parameter);
        Assert.Equal("-AllowOfflineIndexBuild 'off' is required on Standard Edition", online.Message);
        var other = new InvalidRequestException("table", "public.Resource", "does not exist");
        Assert.Same(other, BackfillMapping.Translate(other));
    }

    [Fact]
    public void Translation_maps_the_parameter_key_and_keeps_value_and_problem_without_reading_the_message()
    {
        // A value that itself looks like "option 'value' " would confuse text surgery; the key does not.
        var e = new InvalidRequestException("CustomQuery", "CustomQuery 'x' ", "is empty");
        var translated = BackfillMapping.Translate(e);
        Assert.Equal("-ThrottleQuery", translated.Parameter);
        Assert.Equal(e.Value, translated.Value);
        Assert.Equal("is empty", translated.Problem);
        Assert.Equal("-ThrottleQuery 'CustomQuery 'x' ' is empty", translated.Message);
    }

    public static TheoryData<BackfillRequest> EngineRejections()
    {
        var ok = EngineDefaults(Pg);
        return new()
        {
            ok with { BatchSize = 0 }, ok with { TargetBatchTime = TimeSpan.FromMilliseconds(-1) },
                ok with { Delay = TimeSpan.FromMilliseconds(-1) },
            ok with { Parallelism = 0 }, ok with { MaxDuration = TimeSpan.Zero }, ok with { BatchLockTimeout = TimeSpan.Zero },
            ok with { Index = new IndexBuildOptions { MaxDop = -1 } },
                ok with { Index = new IndexBuildOptions { DataCompression = "ZIP" } },
            ok with { Index = new IndexBuildOptions { MaxDurationMinutes = 0 } },
            ok with { Throttle = new ThrottleOptions { MaxReplicaLagSeconds = -1 } },
                ok with { Throttle = new ThrottleOptions { MaxLogUsedPercent = 101 } },
            ok with { Throttle = new ThrottleOptions { MaxBlockedSessions = -1 } },
                ok with { Throttle = new ThrottleOptions { CustomQuery = " " } },
        };
    }

    [Theory]
    [MemberData(nameof(EngineRejections))]
    public void Every_option_the_engine_rejects_has_a_cmdlet_parameter_to_name(BackfillRequest bad)
    {
        var e = Assert.Throws<InvalidRequestException>(() => bad.Validated());
        Assert.True(BackfillMapping.ParameterNames.ContainsKey(e.Parameter),
            $"{e.Parameter} has no cmdlet parameter in BackfillMapping.ParameterNames");
        Assert.StartsWith(BackfillMapping.ParameterNames[e.Parameter] + " '", BackfillMapping.Translate(e).Message);
    }

    [Fact]
    public void Every_engine_option_a_parameter_carries_is_translated_to_an_existing_parameter()
    {
        var names = typeof(StartPartitionBackfillCommand).GetProperties().Select(p => "-" + p.Name)
            .Concat(typeof(GetBackfillProgressCommand).GetProperties().Select(p => "-" + p.Name)).ToHashSet();
        Assert.All(BackfillMapping.ParameterNames.Values, n => Assert.Contains(n, names));
    }

    [Fact]
    public void Resource_types_from_records_drop_blanks_and_duplicates_in_order()
    {
        Assert.Equal(["B", "A"], BackfillMapping.ResourceTypes(["B", null, "  ", "A", "B", " A "]));
        Assert.Empty(BackfillMapping.ResourceTypes(null));
    }

    [Theory]
    [InlineData("postgresql")]
    [InlineData("sqlserver")]
    public void Stop_plan_is_the_stop_flag_upsert_with_its_values(string provider)
    {
        var target = provider == "postgresql" ? Pg : Sql;
        var scope = BackfillMapping.ToScope(target, new StopPartitionBackfillCommand { ControlSchema = "ops" }.GetParameters());
        var plan = Assert.Single(BackfillMapping.StopPlan(scope));
        Assert.Contains("backfill_control", plan.Text);
        Assert.Contains("ops", plan.Text);
        var values = plan.Parameters.ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal(target.Provider.DefaultSchema, values["table_schema"]);
        Assert.Equal("Resource", values["table_name"]);
        Assert.Equal("PartitionId", values["column_name"]);
        Assert.Equal(1, values["stop_requested"]);
        Assert.Equal($"{target.Provider.DefaultSchema}.Resource", BackfillMapping.TableName(scope));
    }

    [Fact]
    public void Stop_says_what_it_flagged_on_the_host_like_Write_Host()
    {
        var stop = new BackfillStopRequest
        {
            Table = "dbo.Resource", Column = "PartitionId", ControlSchema = "partitionops", RequestedBy = "h:1",
            RunId = 12, RunStatus = BackfillStatus.Running,
        };
        Assert.Equal("dbo.Resource.PartitionId: stop requested (flag in partitionops.backfill_control); run 12 is running: its workers " +
            "pause after their current batch",
            stop.Summary);
        Assert.Contains("run 3 is done, not running: nothing to pause now",
            (stop with { RunId = 3, RunStatus = BackfillStatus.Done }).Summary);
        Assert.Contains("no run has started on this table", (stop with { RunId = null, RunStatus = null }).Summary);
        // What Write-Host sends (the stub's HostInformationMessage keeps no text, so only the shape is checked here).
        Assert.IsType<System.Management.Automation.HostInformationMessage>(BackfillMapping.HostMessage(stop.Summary));
        Assert.Equal(["PSHOST"], BackfillMapping.HostTags);
    }

    [Fact]
    public void A_failed_run_is_reported_naming_the_failed_types_and_how_to_retry()
    {
        var result = new BackfillResult
        {
            Status = BackfillStatus.Failed, RunId = 9, FailedTypes = ["CodeSystem", "ValueSet"],
            StopReason = "CodeSystem failed: frozen; ValueSet failed: frozen",
        };
        Assert.Equal("Start backfill failed for CodeSystem, ValueSet (run 9): CodeSystem failed: frozen; ValueSet failed: frozen. " +
                     "Run it again to retry the failed types; finished work is kept.",
                         BackfillMapping.FailureMessage("Start backfill", result));
    }

    [Fact]
    public void Stop_plan_refuses_a_provider_without_backfill()
    {
        var noBackfill = new DatabaseTarget(new NoBackfillProvider(), "Host=ora01");
        var e = Assert.Throws<InvalidRequestException>(() => BackfillMapping.StopPlan(new BackfillScope { Target = noBackfill }));
        Assert.Equal("-Provider", e.Parameter);
    }

    private sealed class NoBackfillProvider : IDatabaseProvider
    {
        public DatabaseKind Kind => DatabaseKind.Oracle;
        public string Name => "oracle";
        public string DefaultSchema => "FHIR";
        public string DefaultControlSchema => "FHIR";
        public IErrorClassifier Errors => PostgreSqlProvider.Instance.Errors;
        public string Quote(string identifier) => '"' + identifier + '"';
        public string ParameterMarker(string name) => ":" + name;
        public System.Data.Common.DbConnection CreateConnection(string connectionString, string? accessToken = null) =>
            PostgreSqlProvider.Instance.CreateConnection("Host=localhost", accessToken);
        public IBackfillDialect? Backfill => null;
        public PartitionOps.Engine.Ilm.IIlmDialect? Ilm => null;
    }
}
