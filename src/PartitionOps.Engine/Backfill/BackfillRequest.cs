using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>Which table to work on: the connection, the profile and where names live.</summary>
public sealed record BackfillScope
{
    public required DatabaseTarget Target { get; init; }
    public BackfillProfile Profile { get; init; } = BackfillProfile.Fhir;
    /// <summary>Schema of the table; null: the profile's, else the provider default.</summary>
    public string? Schema { get; init; }
    /// <summary>Schema of the control tables; null: the provider default (partitionops).</summary>
    public string? ControlSchema { get; init; }
    /// <summary>Restrict to these type names (of the profile's system types); empty: all of them.</summary>
    public IReadOnlyList<string> ResourceTypes { get; init; } = [];

    /// <summary>
    /// Everything about the scope that can be checked without a connection: the profile, the schema names (plain
    /// identifiers, no system schema) and the chosen types (each one of the profile's system types, once).
    /// Keyed by this record's property names.
    /// </summary>
    public BackfillScope Validated()
    {
        var profile = Profile.Validated();
        if (Schema != null) Identifier.ValidateSchema(Schema, nameof(Schema));
        if (ControlSchema != null) Identifier.ValidateSchema(ControlSchema, nameof(ControlSchema));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in ResourceTypes)
        {
            if (!profile.SystemTypes.Contains(name ?? "", StringComparer.Ordinal))
                throw new InvalidRequestException(nameof(ResourceTypes), name ?? "",
                    $"is not one of the profile's system types ({string.Join(", ", profile.SystemTypes)})");
            if (!seen.Add(name!)) throw new InvalidRequestException(nameof(ResourceTypes), name!, "is given twice");
        }
        return this;
    }
}

/// <summary>Everything `backfill start` / Start-PartitionBackfill can say.</summary>
public sealed record BackfillRequest
{
    public required BackfillScope Scope { get; init; }
    public BackfillDirection Direction { get; init; } = BackfillDirection.Backfill;

    /// <summary>First batch size; it then adapts toward <see cref="TargetBatchTime"/>.</summary>
    public int BatchSize { get; init; } = 1000;
    /// <summary>Batch time the controller aims at; zero keeps the batch size fixed.</summary>
    public TimeSpan TargetBatchTime { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>Pause between batches of one worker.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.Zero;
    /// <summary>Types worked at once.</summary>
    public int Parallelism { get; init; } = 1;
    /// <summary>End cleanly after the batch that crosses this much time; null: no limit.</summary>
    public TimeSpan? MaxDuration { get; init; }
    public bool SkipColumn { get; init; }
    public bool SkipIndexes { get; init; }
    public bool SkipBackfill { get; init; }
    /// <summary>Lock timeout of each batch; a timeout is retried with back-off, never fatal.</summary>
    public TimeSpan BatchLockTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Lock timeout of every phase-1 and phase-2 statement (the ALTER TABLE, each index statement). While DDL waits for its
    /// lock, application writers queue behind it (PostgreSQL: a parent's CREATE INDEX ON ONLY wants SHARE, which
    /// an idle writer's ROW EXCLUSIVE holds off): so it stays below the few seconds an application tolerates, and a
    /// timeout is retried after a back-off (<see cref="DdlRetries"/>) instead of waiting on.
    /// </summary>
    public TimeSpan DdlLockTimeout { get; init; } = DefaultDdlLockTimeout;
    public static readonly TimeSpan DefaultDdlLockTimeout = TimeSpan.FromSeconds(2);
    /// <summary>Attempts of each phase-1 / phase-2 step before a lock wait is reported as a failure.</summary>
    public int DdlRetries { get; init; } = 20;
    public IndexBuildOptions Index { get; init; } = new();
    public ThrottleOptions Throttle { get; init; } = new();
    /// <summary>Plan only: read the catalog, change nothing.</summary>
    public bool DryRun { get; init; }
    /// <summary>Run one phase alone (e.g. the index builds outside a time-boxed job); <see cref="BackfillPhase.All"/>
    /// runs every one.</summary>
    public BackfillPhase Phase { get; init; } = BackfillPhase.All;
    /// <summary>
    /// Rows per second one index build is assumed to read, to estimate how long a build that cannot be paused takes
    /// (the table's catalog row count divided by this). The default is deliberately low (a build reads the whole table
    /// once, sorts the rows it keeps and writes them, online, beside the application's load); set it from a build timed
    /// on the same server.
    /// </summary>
    public double IndexBuildRowsPerSecond { get; init; } = 50_000;

    /// <summary>
    /// A rate no online build reaches (a hundred million rows a second): above it the estimate would call every build
    /// instant and the time box would start builds it cannot finish, so a typo is refused rather than trusted.
    /// </summary>
    public const double MaxIndexBuildRowsPerSecond = 100_000_000;

    /// <summary>The request with <see cref="Phase"/> turned into the skip flags (All: unchanged).</summary>
    internal BackfillRequest WithPhaseApplied() => Phase switch
    {
        BackfillPhase.Column => this with { SkipIndexes = true, SkipBackfill = true },
        BackfillPhase.Indexes => this with { SkipColumn = true, SkipBackfill = true },
        BackfillPhase.Backfill => this with { SkipColumn = true, SkipIndexes = true },
        _ => this,
    };

    /// <summary>Largest first batch: far above any useful batch, low enough that a typo (an extra 0) is caught.</summary>
    public const int MaxBatchSize = 1_000_000;
    /// <summary>Longest pause, batch target or batch lock timeout we accept: one hour (a typo, not a plan, beyond that).</summary>
    public static readonly TimeSpan MaxPause = TimeSpan.FromHours(1);
    /// <summary>Longest --max-duration: a year; TimeSpan and every engine's timers hold it.</summary>
    public static readonly TimeSpan MaxRunDuration = TimeSpan.FromDays(366);
    /// <summary>Most types worked at once.</summary>
    public const int MaxParallelism = 64;

    /// <summary>
    /// Throws <see cref="InvalidRequestException"/> naming the first bad value, keyed by this record's property names
    /// (each front end maps them to its own parameter names). Checks everything that can be checked without a
    /// connection, so bad input never connects.
    /// </summary>
    public BackfillRequest Validated()
    {
        Scope.Validated();
        if (BatchSize is < 1 or > MaxBatchSize)
            throw new InvalidRequestException(nameof(BatchSize), BatchSize, $"must be between 1 and {MaxBatchSize:N0} rows");
        CheckSpan(nameof(TargetBatchTime), TargetBatchTime, allowZero: true);
        CheckSpan(nameof(Delay), Delay, allowZero: true);
        if (Parallelism is < 1 or > MaxParallelism)
            throw new InvalidRequestException(nameof(Parallelism), Parallelism, $"must be between 1 and {MaxParallelism}");
        if (MaxDuration is { } d && (d <= TimeSpan.Zero || d > MaxRunDuration))
            throw new InvalidRequestException(nameof(MaxDuration), d, "must be positive and at most 366 days");
        CheckSpan(nameof(BatchLockTimeout), BatchLockTimeout, allowZero: false);
        CheckSpan(nameof(DdlLockTimeout), DdlLockTimeout, allowZero: false);
        if (DdlRetries is < 1 or > 1000) throw new InvalidRequestException(nameof(DdlRetries), DdlRetries, "must be between 1 and 1000");
        Index.Validate();
        if (!Enum.IsDefined(Phase)) throw new InvalidRequestException(nameof(Phase), Phase, "is not one of all, column, indexes, backfill");
        if (Phase == BackfillPhase.Indexes && SkipIndexes)
            throw new InvalidRequestException(
                nameof(SkipIndexes), true, "contradicts the indexes phase: that phase only builds the indexes");
        if (!(IndexBuildRowsPerSecond is > 0 and <= MaxIndexBuildRowsPerSecond))
            throw new InvalidRequestException(nameof(IndexBuildRowsPerSecond), IndexBuildRowsPerSecond,
                $"must be between 1 and {MaxIndexBuildRowsPerSecond:N0} rows per second");
        Throttle.Validate();
        return this;
    }

    /// <summary>A time in whole milliseconds between 0 (or 1 ms) and <see cref="MaxPause"/>.</summary>
    private static void CheckSpan(string parameter, TimeSpan value, bool allowZero)
    {
        var ms = (long)value.TotalMilliseconds;
        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero) || value > MaxPause)
            throw new InvalidRequestException(parameter, ms,
                $"must be between {(allowZero ? 0 : 1)} and {(long)MaxPause.TotalMilliseconds:N0} milliseconds (one hour)");
    }
}

/// <summary>Which phases a start runs: all of them, or one alone.</summary>
public enum BackfillPhase
{
    All,
    /// <summary>Phase 1: add the partition column.</summary>
    Column,
    /// <summary>Phase 2: build the filtered indexes (the column must exist).</summary>
    Indexes,
    /// <summary>Phase 3: the batched backfill.</summary>
    Backfill,
}

/// <summary>The built-in throttle signals whose limit can be switched off.</summary>
public enum ThrottleSignal
{
    /// <summary>Replica (availability group secondary, geo-replica, PostgreSQL standby) lag in seconds.</summary>
    ReplicaLag,
    /// <summary>Transaction log use in percent (SQL Server).</summary>
    LogUsed,
    /// <summary>Sessions waiting on one of ours.</summary>
    BlockedSessions,
}

/// <summary>
/// When to pause between batches. A limit of null is off: that signal is not checked (and when every limit is
/// off and there is no custom query, the signals are not read at all). Zero is a limit like any other: with
/// MaxBlockedSessions = 0 the walk waits while any session is blocked by ours.
/// </summary>
public sealed record ThrottleOptions
{
    /// <summary>The word that switches a limit off on the command line ("--max-replica-lag off").</summary>
    public const string Off = "off";

    public double? MaxReplicaLagSeconds { get; init; } = 30;
    public double? MaxLogUsedPercent { get; init; } = 80;
    /// <summary>Sessions waiting on one of ours; above this, wait.</summary>
    public double? MaxBlockedSessions { get; init; } = 0;
    /// <summary>A query returning one number: when positive, wait that many milliseconds (at most a minute).</summary>
    public string? CustomQuery { get; init; }
    /// <summary>How often the signals are read (the stop flag is read after every batch).</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long to wait before reading a signal again once it fired.</summary>
    public TimeSpan Pause { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>True when no limit is set and there is no custom query: nothing to read between batches.</summary>
    public bool AllOff => MaxReplicaLagSeconds is null && MaxLogUsedPercent is null && MaxBlockedSessions is null && CustomQuery is null;

    /// <summary>The same options with the limit of <paramref name="signal"/> switched off.</summary>
    public ThrottleOptions Without(ThrottleSignal signal) => signal switch
    {
        ThrottleSignal.ReplicaLag => this with { MaxReplicaLagSeconds = null },
        ThrottleSignal.LogUsed => this with { MaxLogUsedPercent = null },
        ThrottleSignal.BlockedSessions => this with { MaxBlockedSessions = null },
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, null),
    };

    /// <summary>
    /// A limit as typed: a number, or "off" (any case) for null, which switches the limit off. Anything else is
    /// invalid input naming <paramref name="parameter"/> and the text. The range is checked by <see cref="Validate"/>.
    /// </summary>
    public static double? ParseLimit(string parameter, string text)
    {
        var trimmed = (text ?? "").Trim();
        if (trimmed.Equals(Off, StringComparison.OrdinalIgnoreCase)) return null;
        if (double.TryParse(trimmed, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture,
            out var value)
            && double.IsFinite(value)) return value;
        throw new InvalidRequestException(parameter, text, $"is not a number or '{Off}'");
    }

    public void Validate()
    {
        // A day of lag or a million blocked sessions is a typo, not a limit.
        if (MaxReplicaLagSeconds is < 0 or > 86_400)
            throw new InvalidRequestException(nameof(MaxReplicaLagSeconds), MaxReplicaLagSeconds,
                "must be between 0 and 86,400 seconds (or off)");
        if (MaxLogUsedPercent is < 0 or > 100)
            throw new InvalidRequestException(nameof(MaxLogUsedPercent), MaxLogUsedPercent, "must be a percentage from 0 to 100 (or off)");
        if (MaxBlockedSessions is < 0 or > 1_000_000 || MaxBlockedSessions is { } b && b != Math.Floor(b))
            throw new InvalidRequestException(nameof(MaxBlockedSessions), MaxBlockedSessions,
                "must be a whole number from 0 to 1,000,000 (or off)");
        if (CustomQuery is { } q && string.IsNullOrWhiteSpace(q)) throw new InvalidRequestException(nameof(CustomQuery), q, "is empty");
    }
}
