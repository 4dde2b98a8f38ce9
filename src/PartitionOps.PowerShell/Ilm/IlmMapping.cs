using System.Globalization;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Ilm;

/// <summary>
/// The ILM cmdlets' parameters without PowerShell types, so that the mapping to engine requests is testable
/// without a host. Null means "not given": the engine's default applies.
/// </summary>
public sealed record IlmParameters
{
    public string? Table { get; init; }
    public string? Schema { get; init; }
    public string? ControlSchema { get; init; }

    /// <summary>Path of a policy file (tier_config JSON); null: the spec's defaults.</summary>
    public string? Policy { get; init; }

    /// <summary>A DateTime, DateTimeOffset, DateOnly or a YYYY-MM-DD string; null: today (UTC).</summary>
    public object? AsOf { get; init; }

    public int? MaxMerges { get; init; }
    public int? LockTimeoutSeconds { get; init; }
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>
    /// Invoke-IlmPartitionMerge -Partition (the manual merge) rather than piped candidates: errors about the choice name
    /// -Partition. Like any choice (IlmRunRequest.Only) it runs even when AUTO_MERGE_PARTITIONS = N or its last merge failed.
    /// </summary>
    public bool ExplicitMerge { get; init; }

    public int? MaxRows { get; init; }

    // Test-IlmHealth thresholds.
    public int? WindowDays { get; init; }
    public decimal? MaxFailureRatePercent { get; init; }
    public decimal? MaxMergeSeconds { get; init; }
    public int? MaxWarmMonthlyPartitions { get; init; }
    public int? FailedNotRetriedDays { get; init; }
    public decimal? MaxWarmMonthlyPercent { get; init; }
    public decimal? MinSuccessRatePercent { get; init; }
    public decimal? MaxAverageMergeSeconds { get; init; }
    public bool VerifyIndexes { get; init; }

    // Set-IlmConfig.
    public string? Key { get; init; }
    public string? Value { get; init; }
    public string? Description { get; init; }
}

/// <summary>
/// ILM parameters -> engine requests (IlmService calls, see src/PartitionOps.Engine/Ilm/README.md). Host-free:
/// xunit covers every parameter here. Bad values become <see cref="InvalidRequestException"/> naming the cmdlet
/// parameter (-MaxMerges), not the command line option the engine names (--max-merges).
/// </summary>
public static class IlmMapping
{
    /// <summary>The dwh_ilm_config keys Set-IlmConfig accepts (the spec's four).</summary>
    public static readonly IReadOnlyList<string> ConfigKeys = IlmConfig.Defaults.Select(d => d.Key).ToList();

    /// <summary>Engine names of a bad value (command line options, threshold names) -> the cmdlet parameter.</summary>
    public static readonly IReadOnlyDictionary<string, string> ParameterNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(IlmTableRequest.Table)] = "-Table",
        [nameof(IlmTableRequest.Schema)] = "-Schema",
        [nameof(IlmTableRequest.ControlSchema)] = "-ControlSchema",
        [nameof(IlmRunRequest.Policy)] = "-Policy",
        [nameof(IlmRunRequest.AsOf)] = "-AsOf",
        [nameof(IlmConfigOverrides.MaxMerges)] = "-MaxMerges",
        [nameof(IlmConfigOverrides.LockTimeoutSeconds)] = "-LockTimeoutSeconds",
        [nameof(IlmRunRequest.MaxDuration)] = "-MaxDuration",
        [nameof(IlmHistoryRequest.MaxRows)] = "-MaxRows",
        [nameof(DatabaseTarget.Provider)] = "-Provider",
        [nameof(DatabaseTarget.ConnectionString)] = "-Connection",
        [nameof(IlmHealthThresholds.WindowDays)] = "-WindowDays",
        [nameof(IlmHealthThresholds.FailedNotRetriedDays)] = "-FailedNotRetriedDays",
        [nameof(IlmHealthThresholds.MaxFailureRatePercent)] = "-MaxFailureRatePercent",
        [nameof(IlmHealthThresholds.MinSuccessRatePercent)] = "-MinSuccessRatePercent",
        [nameof(IlmHealthThresholds.MaxWarmMonthlyPercent)] = "-MaxWarmMonthlyPercent",
        [nameof(IlmHealthThresholds.MaxMergeSeconds)] = "-MaxMergeSeconds",
        [nameof(IlmHealthThresholds.MaxAverageMergeSeconds)] = "-MaxAverageMergeSeconds",
        [nameof(IlmHealthThresholds.MaxWarmMonthlyPartitions)] = "-MaxWarmMonthlyPartitions",
        [nameof(IlmHealthRequest.VerifyIndexes)] = "-VerifyIndexes",
        [nameof(IlmSetConfigRequest.Key)] = "-Key",
        [nameof(IlmSetConfigRequest.Description)] = "-Description",
        [IlmConfig.AutoMergeKey] = "-Value",
        [IlmConfig.LockTimeoutKey] = "-Value",
        [IlmConfig.RetryFailedKey] = "-Value",
        [IlmConfig.MaxMergesKey] = "-Value",
    };

    /// <summary>-AsOf: a date (DateTime, DateTimeOffset, DateOnly) or text YYYY-MM-DD; null when not given.</summary>
    public static DateOnly? AsOf(object? value) => value switch
    {
        null => null,
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        DateTimeOffset dto => DateOnly.FromDateTime(dto.DateTime),
        string s => IlmInput.ParseAsOf(s, "-AsOf"),
        _ => throw new InvalidRequestException("-AsOf", value, "is not a date: use a DateTime (Get-Date) or YYYY-MM-DD"),
    };

    /// <summary>The policy file (null or blank: the spec's defaults); a missing or bad file names -Policy.</summary>
    public static IlmPolicy Policy(string? path) => Translated(() => IlmPolicy.Load(path));

    /// <summary>Options that win over dwh_ilm_config for this call, validated.</summary>
    public static IlmConfigOverrides Overrides(IlmParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var overrides = new IlmConfigOverrides
        {
            MaxMerges = p.MaxMerges,
            LockTimeoutSeconds = p.LockTimeoutSeconds,
        };
        Translated(() => { overrides.Validate(); return 0; });
        return overrides;
    }

    /// <summary>Get-IlmMergeCandidate: IlmService.PlanAsync.</summary>
    public static IlmPlanRequest ToPlanRequest(DatabaseTarget target, IlmParameters p)
    {
        Check(target, p);
        var table = Table(p.Table);
        return new IlmPlanRequest
        {
            Target = target,
            Table = table,
            Schema = Name(p.Schema, "-Schema"),
            ControlSchema = Name(p.ControlSchema, "-ControlSchema"),
            Policy = Policy(p.Policy),
            AsOf = AsOf(p.AsOf),
            Overrides = Overrides(p),
        };
    }

    /// <summary>Invoke-IlmMaintenance / Invoke-IlmPartitionMerge: IlmService.RunAsync (DryRun for -WhatIf's plan).</summary>
    public static IlmRunRequest ToRunRequest(DatabaseTarget target, IlmParameters p, bool dryRun = false)
    {
        Check(target, p);
        if (p.MaxDuration is { } limit && limit < TimeSpan.Zero)
            throw new InvalidRequestException("-MaxDuration", limit, "must not be negative");
        return new IlmRunRequest(target, Table(p.Table))
        {
            Schema = Name(p.Schema, "-Schema"),
            ControlSchema = Name(p.ControlSchema, "-ControlSchema"),
            Policy = Policy(p.Policy),
            AsOf = AsOf(p.AsOf),
            Overrides = Overrides(p),
            DryRun = dryRun,
            MaxDuration = p.MaxDuration,
        };
    }

    /// <summary>The same run as a plan request (what -WhatIf shows equals what the run plans).</summary>
    public static IlmPlanRequest ToPlanRequest(IlmRunRequest run) => new()
    {
        Target = run.Target,
        Table = run.Table,
        Schema = run.Schema,
        ControlSchema = run.ControlSchema,
        Policy = run.Policy,
        AsOf = run.AsOf,
        Overrides = run.Overrides,
    };

    /// <summary>Get-IlmPartitionSummary: IlmService.SummaryAsync(request, policy).</summary>
    public static (IlmTableRequest Request, IlmPolicy Policy) ToSummaryRequest(DatabaseTarget target, IlmParameters p)
    {
        Check(target, p);
        var request = new IlmTableRequest(target, Table(p.Table))
        {
            Schema = Name(p.Schema, "-Schema"),
            ControlSchema = Name(p.ControlSchema, "-ControlSchema"),
        };
        return (request, Policy(p.Policy));
    }

    /// <summary>Get-IlmMergeHistory: IlmService.HistoryAsync; no -Table: every table.</summary>
    public static IlmHistoryRequest ToHistoryRequest(DatabaseTarget target, IlmParameters p)
    {
        Check(target, p);
        var request = new IlmHistoryRequest(target)
        {
            Table = OptionalTable(p.Table),
            Schema = Name(p.Schema, "-Schema"),
            ControlSchema = Name(p.ControlSchema, "-ControlSchema"),
        };
        if (p.MaxRows is { } rows)
        {
            if (rows <= 0) throw new InvalidRequestException("-MaxRows", rows, "must be above 0");
            request = request with { MaxRows = rows };
        }
        return request;
    }

    /// <summary>Test-IlmHealth: IlmService.HealthAsync; thresholds not given keep the spec's.</summary>
    public static IlmHealthRequest ToHealthRequest(DatabaseTarget target, IlmParameters p)
    {
        Check(target, p);
        var t = Translated(() => IlmHealthThresholds.Create(
            p.WindowDays, p.MaxFailureRatePercent, p.MaxMergeSeconds, p.MaxWarmMonthlyPartitions,
            p.FailedNotRetriedDays, p.MaxWarmMonthlyPercent, p.MinSuccessRatePercent, p.MaxAverageMergeSeconds));
        return new IlmHealthRequest(target)
        {
            Table = OptionalTable(p.Table),
            Schema = Name(p.Schema, "-Schema"),
            ControlSchema = Name(p.ControlSchema, "-ControlSchema"),
            Policy = Policy(p.Policy),
            Thresholds = t,
            VerifyIndexes = p.VerifyIndexes,
        };
    }

    /// <summary>Get-IlmConfig: IlmService.GetConfigAsync.</summary>
    public static IlmConfigRequest ToConfigRequest(DatabaseTarget target, IlmParameters p)
    {
        Check(target, p);
        return new IlmConfigRequest(target) { ControlSchema = Name(p.ControlSchema, "-ControlSchema") };
    }

    /// <summary>
    /// Set-IlmConfig: IlmService.SetConfigAsync, validated here first (the engine's rules: known key, Y/N or a
    /// whole number) so that -WhatIf already refuses a bad value. The key is stored upper case, the value as the engine
    /// stores it (YES/TRUE/1 -> Y, NO/FALSE/0 -> N, whole numbers without sign or leading zeros), so -WhatIf shows it.
    /// </summary>
    public static IlmSetConfigRequest ToSetConfigRequest(DatabaseTarget target, IlmParameters p)
    {
        Check(target, p);
        var key = p.Key?.Trim().ToUpperInvariant();
        if (string.IsNullOrEmpty(key)) throw new InvalidRequestException("-Key", p.Key ?? "",
            $"is empty: use one of {string.Join(", ", ConfigKeys)}");
        if (p.Value is null || string.IsNullOrWhiteSpace(p.Value)) throw new InvalidRequestException("-Value", p.Value ?? "",
            $"is empty: {key} needs a value");
        var value = Translated(() => IlmConfig.Normalize(key, p.Value));
        return new IlmSetConfigRequest(target, key, value)
        {
            ControlSchema = Name(p.ControlSchema, "-ControlSchema"),
            Description = string.IsNullOrWhiteSpace(p.Description) ? null : p.Description.Trim(),
        };
    }

    /// <summary>
    /// The statement Set-IlmConfig runs (for -WhatIf / -Confirm): the dialect's upsert of the row. The engine
    /// also creates the control tables first when they are missing (idempotent DDL, not shown).
    /// </summary>
    public static IReadOnlyList<SqlStatement> SetConfigPlan(IlmSetConfigRequest request)
    {
        var dialect = Translated(() => IlmCatalog.DialectOf(request.Target.Provider));
        var control = request.ControlSchema is null ? dialect.DefaultControlSchema : dialect.NormalizeName(request.ControlSchema);
        var description = request.Description ?? IlmConfig.Defaults.FirstOrDefault(d => d.Key == request.Key).Description;
        return [dialect.SetConfig(control, request.Key, request.Value, description)];
    }

    /// <summary>The same error, naming the cmdlet parameter instead of the engine's option or threshold name.</summary>
    public static InvalidRequestException Translate(InvalidRequestException e)
    {
        if (!ParameterNames.TryGetValue(e.Parameter, out var name)) return e;
        var problem = e.Problem;
        // A bad config value: keep the key in the message (-Value 'x' for MAX_MERGES_PER_RUN must be ...).
        if (name == "-Value" && e.Parameter != "-Value") problem = $"for {e.Parameter} {problem}";
        return new InvalidRequestException(name, e.Field, e.Value, problem);
    }

    /// <summary>Runs <paramref name="build"/> and translates its bad-input errors to cmdlet parameter names.</summary>
    public static T Translated<T>(Func<T> build)
    {
        try { return build(); }
        catch (InvalidRequestException e) { throw Translate(e); }
    }

    /// <summary>"yyyy-MM-dd" of a plan's as-of date, for messages.</summary>
    public static string Date(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static void Check(DatabaseTarget target, IlmParameters p)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(p);
        // ILM runs on Oracle and PostgreSQL only: say so before connecting.
        Translated(() => IlmCatalog.DialectOf(target.Provider));
    }

    private static string Table(string? table)
    {
        if (string.IsNullOrWhiteSpace(table)) throw new InvalidRequestException("-Table", table ?? "",
            "is empty: name the partitioned table");
        return Identifier.Validate(table.Trim(), "-Table");
    }

    private static string? OptionalTable(string? table) => string.IsNullOrWhiteSpace(table) ? null : Table(table);

    private static string? Name(string? name, string parameter) =>
        string.IsNullOrWhiteSpace(name) ? null : Identifier.Validate(name.Trim(), parameter);
}
