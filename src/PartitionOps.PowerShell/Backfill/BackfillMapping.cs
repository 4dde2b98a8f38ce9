using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Backfill;

/// <summary>
/// The backfill cmdlets' parameters without PowerShell types, so that the mapping to engine requests is
/// testable without a host. Null means "not given": the engine's default applies.
/// </summary>
public sealed record BackfillParameters
{
    public string? Profile { get; init; }
    public string? Schema { get; init; }
    public string? ControlSchema { get; init; }
    public IReadOnlyList<string>? ResourceType { get; init; }

    public int? BatchSize { get; init; }
    public int? TargetBatchMilliseconds { get; init; }
    public int? DelayMilliseconds { get; init; }
    public int? Parallel { get; init; }
    public TimeSpan? MaxDuration { get; init; }
    public bool SkipIndexes { get; init; }
    public int? LockTimeoutMilliseconds { get; init; }
    public int? DdlLockTimeoutMilliseconds { get; init; }

    public string? ThrottleQuery { get; init; }
    public double? MaxReplicaLagSeconds { get; init; }
    public double? MaxLogUsedPercent { get; init; }
    public double? MaxBlockedSessions { get; init; }
    /// <summary>Names of <see cref="ThrottleSignal"/> whose limit is switched off.</summary>
    public IReadOnlyList<string>? DisableThrottle { get; init; }

    public bool AllowOfflineIndexBuild { get; init; }
    public int? MaxDop { get; init; }
    public string? DataCompression { get; init; }
    public int? IndexMaxDurationMinutes { get; init; }
    /// <summary>All, Column, Indexes or Backfill (the cmdlet validates the set).</summary>
    public string? Phase { get; init; }
    public long? IndexBuildRowsPerSecond { get; init; }
}

/// <summary>
/// Backfill parameters -> engine scope and request. Host-free: xunit covers every parameter here.
/// Bad values become <see cref="InvalidRequestException"/> naming the cmdlet parameter (-BatchSize),
/// not the command line option the engine names (--batch-size).
/// </summary>
public static class BackfillMapping
{
    /// <summary>
    /// The first lines of -WhatIf / -Confirm: the table, the resource types, and each phase with its statement count,
    /// so the SQL after them is read knowing what it is for.
    /// </summary>
    public static IReadOnlyList<string> PlanSummary(BackfillPlan plan, IReadOnlyList<string> resourceTypes, BackfillProfile profile)
    {
        const int namesShown = 10;
        // Before phase 1 the catalog has no progress to read: the chosen types, else the profile's system types.
        var names = plan.Types.Count > 0 ? plan.Types.Select(t => t.TypeName).ToList()
            : resourceTypes.Count > 0 ? resourceTypes.ToList() : profile.SystemTypes.ToList();
        var typeLine = $"types: {names.Count} " +
            $"({string.Join(", ", names.Take(namesShown))}{(names.Count > namesShown ? $", and {names.Count - namesShown} more" : "")})";
        var lines = new List<string> { $"table: {plan.Table}", typeLine };
        lines.AddRange(plan.Steps.Select(step =>
            $"{step.Phase}: {step.Description} ({step.Statements.Count} statement{(step.Statements.Count == 1 ? "" : "s")})"));
        return lines;
    }

    /// <summary>The cmdlets' one map from the engine's parameter keys (request property names) to their parameters.</summary>
    public static readonly IReadOnlyDictionary<string, string> ParameterNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(BackfillScope.Profile)] = "-Profile",
        [nameof(BackfillScope.Schema)] = "-Schema",
        [nameof(BackfillScope.ControlSchema)] = "-ControlSchema",
        [nameof(BackfillScope.ResourceTypes)] = "-ResourceType",
        [nameof(BackfillRequest.BatchSize)] = "-BatchSize",
        [nameof(BackfillRequest.TargetBatchTime)] = "-TargetBatchMilliseconds",
        [nameof(BackfillRequest.Delay)] = "-DelayMilliseconds",
        [nameof(BackfillRequest.Parallelism)] = "-Parallel",
        [nameof(BackfillRequest.MaxDuration)] = "-MaxDuration",
        [nameof(BackfillRequest.BatchLockTimeout)] = "-LockTimeoutMilliseconds",
        [nameof(BackfillRequest.DdlLockTimeout)] = "-DdlLockTimeoutMilliseconds",
        [nameof(ThrottleOptions.CustomQuery)] = "-ThrottleQuery",
        [nameof(ThrottleOptions.MaxReplicaLagSeconds)] = "-MaxReplicaLagSeconds",
        [nameof(ThrottleOptions.MaxLogUsedPercent)] = "-MaxLogUsedPercent",
        [nameof(ThrottleOptions.MaxBlockedSessions)] = "-MaxBlockedSessions",
        [nameof(IndexBuildOptions.AllowOffline)] = "-AllowOfflineIndexBuild",
        [nameof(IndexBuildOptions.MaxDop)] = "-MaxDop",
        [nameof(IndexBuildOptions.DataCompression)] = "-DataCompression",
        [nameof(IndexBuildOptions.MaxDurationMinutes)] = "-IndexMaxDurationMinutes",
        [nameof(BackfillRequest.Phase)] = "-Phase",
        [nameof(BackfillRequest.IndexBuildRowsPerSecond)] = "-IndexBuildRowsPerSecond",
        [nameof(DatabaseTarget.Provider)] = "-Provider",
        [nameof(DatabaseTarget.ConnectionString)] = "-ConnectionString",
    };

    /// <summary>Which table: connection, profile (fhir or a JSON file), schemas and the resource types (empty: all system types).</summary>
    public static BackfillScope ToScope(DatabaseTarget target, BackfillParameters p)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(p);
        return Translated(() =>
        {
            var scope = new BackfillScope { Target = target };
            if (!string.IsNullOrWhiteSpace(p.Profile)) scope = scope with { Profile = BackfillProfile.Load(p.Profile) };
            if (p.Schema != null) scope = scope with { Schema = Identifier.Validate(p.Schema, "-Schema") };
            if (p.ControlSchema != null) scope = scope with { ControlSchema = Identifier.Validate(p.ControlSchema, "-ControlSchema") };
            var types = ResourceTypes(p.ResourceType);
            if (types.Count > 0) scope = scope with { ResourceTypes = types };
            return scope;
        });
    }

    /// <summary>
    /// The whole request, validated. Parameters not given keep the engine's defaults, so a bare
    /// Start-PartitionBackfill behaves exactly like `partitionops backfill start`.
    /// </summary>
    public static BackfillRequest ToRequest(DatabaseTarget target, BackfillParameters p)
    {
        var scope = ToScope(target, p);
        return Translated(() =>
        {
            var request = new BackfillRequest { Scope = scope };
            if (p.BatchSize is { } batch) request = request with { BatchSize = batch };
            if (p.TargetBatchMilliseconds is { } targetMs) request = request with { TargetBatchTime = TimeSpan.FromMilliseconds(targetMs) };
            if (p.DelayMilliseconds is { } delayMs) request = request with { Delay = TimeSpan.FromMilliseconds(delayMs) };
            if (p.Parallel is { } parallel) request = request with { Parallelism = parallel };
            if (p.MaxDuration is { } maxDuration) request = request with { MaxDuration = maxDuration };
            if (p.SkipIndexes) request = request with { SkipIndexes = true };
            if (p.Phase != null)
                request = request with
                {
                    Phase = Enum.TryParse<BackfillPhase>(p.Phase, ignoreCase: true, out var phase) && Enum.IsDefined(phase)
                            && !int.TryParse(p.Phase, out _)
                        ? phase
                        : throw new InvalidRequestException("--phase", p.Phase, "is not one of All, Column, Indexes, Backfill"),
                };
            if (p.IndexBuildRowsPerSecond is { } rate) request = request with { IndexBuildRowsPerSecond = rate };
            if (p.LockTimeoutMilliseconds is { } lockMs)
            {
                // Checked here: the engine would report the TimeSpan, not the milliseconds given.
                if (lockMs < 1) throw new InvalidRequestException("-LockTimeoutMilliseconds", lockMs,
                    "must be a positive number of milliseconds");
                request = request with { BatchLockTimeout = TimeSpan.FromMilliseconds(lockMs) };
            }
            if (p.DdlLockTimeoutMilliseconds is { } ddlMs)
            {
                if (ddlMs < 1) throw new InvalidRequestException("-DdlLockTimeoutMilliseconds", ddlMs,
                    "must be a positive number of milliseconds");
                request = request with { DdlLockTimeout = TimeSpan.FromMilliseconds(ddlMs) };
            }

            var throttle = request.Throttle;
            if (p.ThrottleQuery != null) throttle = throttle with { CustomQuery = p.ThrottleQuery };
            if (p.MaxReplicaLagSeconds is { } lag) throttle = throttle with { MaxReplicaLagSeconds = lag };
            if (p.MaxLogUsedPercent is { } log) throttle = throttle with { MaxLogUsedPercent = log };
            if (p.MaxBlockedSessions is { } blocked) throttle = throttle with { MaxBlockedSessions = blocked };
            foreach (var signal in ThrottleSignals(p)) throttle = throttle.Without(signal);
            if (!ReferenceEquals(throttle, request.Throttle)) request = request with { Throttle = throttle };

            var index = request.Index;
            if (p.AllowOfflineIndexBuild) index = index with { AllowOffline = true };
            if (p.MaxDop is { } maxDop) index = index with { MaxDop = maxDop };
            if (p.DataCompression != null) index = index with { DataCompression = DataCompression(p.DataCompression) };
            if (p.IndexMaxDurationMinutes is { } minutes) index = index with { MaxDurationMinutes = minutes };
            if (!ReferenceEquals(index, request.Index)) request = request with { Index = index };

            return request.Validated();
        });
    }

    /// <summary>
    /// The SQL Stop-PartitionBackfill runs (for -WhatIf / -Confirm): the upsert of the stop flag. The engine
    /// also creates the control tables first when they are missing (idempotent DDL, not shown).
    /// </summary>
    public static IReadOnlyList<SqlStatement> StopPlan(BackfillScope scope)
    {
        var provider = scope.Target.Provider;
        var dialect = provider.Backfill
            ?? throw new InvalidRequestException("-Provider", provider.Name, "does not support backfill: use sqlserver or postgresql");
        var profile = scope.Profile;
        var schema = Identifier.Validate(scope.Schema ?? profile.Schema ?? provider.DefaultSchema, "-Schema");
        var controlSchema = Identifier.Validate(scope.ControlSchema ?? provider.DefaultControlSchema, "-ControlSchema");
        return
        [
            dialect.SetStopFlag(new BackfillTable(schema, profile, controlSchema), stop: true,
                $"{Environment.MachineName}:{Environment.ProcessId}"),
        ];
    }

    /// <summary>
    /// The error of a failed run: which types failed and why (the other types went on), and that running the
    /// same command again retries them.
    /// </summary>
    public static string FailureMessage(string operation, BackfillResult result)
    {
        var types = result.FailedTypes.Count > 0
            ? result.FailedTypes
            : result.Types.Where(t => t.Status == BackfillStatus.Failed).Select(t => t.TypeName).ToList();
        return $"{operation} failed for {string.Join(", ", types)} (run {result.RunId}): {result.StopReason}. " +
               "Run it again to retry the failed types; finished work is kept.";
    }

    /// <summary>Tags of an information record the host shows the way it shows Write-Host output.</summary>
    public static readonly string[] HostTags = ["PSHOST"];

    /// <summary>A line for the host, as Write-Host sends it (shown unless -InformationAction Ignore).</summary>
    public static HostInformationMessage HostMessage(string text) => new() { Message = text };

    /// <summary>"schema.table" as the engine will resolve it (before it reads the catalog).</summary>
    public static string TableName(BackfillScope scope) =>
        $"{scope.Schema ?? scope.Profile.Schema ?? scope.Target.Provider.DefaultSchema}.{scope.Profile.Table}";

    /// <summary>
    /// The same error, naming the cmdlet parameter instead of the engine's option name: mapped by the
    /// exception's Parameter key, rebuilt from its Value and Problem (the message text is never taken apart).
    /// </summary>
    public static InvalidRequestException Translate(InvalidRequestException e)
    {
        if (!ParameterNames.TryGetValue(e.Parameter, out var name)) return e;
        return e.Renamed(name);
    }

    /// <summary>Names from the command line and from piped objects, blanks dropped, duplicates once, order kept.</summary>
    public static IReadOnlyList<string> ResourceTypes(IEnumerable<string?>? names)
    {
        if (names is null) return [];
        var result = new List<string>();
        foreach (var name in names)
        {
            if (string.IsNullOrWhiteSpace(name)) continue;
            var trimmed = name.Trim();
            if (!result.Contains(trimmed, StringComparer.Ordinal)) result.Add(trimmed);
        }
        return result;
    }

    /// <summary>
    /// -DisableThrottle values as signals. A limit cannot be both set and switched off: that is a contradiction
    /// in the request, refused before anything runs.
    /// </summary>
    private static IEnumerable<ThrottleSignal> ThrottleSignals(BackfillParameters p)
    {
        var signals = new List<ThrottleSignal>();
        foreach (var name in p.DisableThrottle ?? [])
        {
            if (string.IsNullOrWhiteSpace(name)) continue;
            var known = Enum.GetNames<ThrottleSignal>().FirstOrDefault(n => n.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidRequestException("-DisableThrottle", name,
                    $"is not one of {string.Join(", ", Enum.GetNames<ThrottleSignal>())}");
            var signal = Enum.Parse<ThrottleSignal>(known);
            var (given, parameter) = signal switch
            {
                ThrottleSignal.ReplicaLag => (p.MaxReplicaLagSeconds.HasValue, "-MaxReplicaLagSeconds"),
                ThrottleSignal.LogUsed => (p.MaxLogUsedPercent.HasValue, "-MaxLogUsedPercent"),
                _ => (p.MaxBlockedSessions.HasValue, "-MaxBlockedSessions"),
            };
            if (given) throw new InvalidRequestException("-DisableThrottle", name,
                $"switches off the limit {parameter} sets: give one or the other");
            signals.Add(signal);
        }
        return signals;
    }

    private static string DataCompression(string value)
    {
        var upper = value.Trim().ToUpperInvariant();
        if (!IndexBuildOptions.Compressions.Contains(upper))
            throw new InvalidRequestException("-DataCompression", value,
                $"is not one of {string.Join(", ", IndexBuildOptions.Compressions)}");
        return upper;
    }

    private static T Translated<T>(Func<T> build)
    {
        try { return build(); }
        catch (InvalidRequestException e) { throw Translate(e); }
    }
}
