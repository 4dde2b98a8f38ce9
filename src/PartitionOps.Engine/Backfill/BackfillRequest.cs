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

    /// <summary>Throws <see cref="InvalidRequestException"/> naming the first bad value.</summary>
    public BackfillRequest Validated()
    {
        if (BatchSize < 1) throw new InvalidRequestException("--batch-size", BatchSize, "must be a positive number of rows");
        if (TargetBatchTime < TimeSpan.Zero) throw new InvalidRequestException("--target-batch-ms", (long)TargetBatchTime.TotalMilliseconds, "must be zero or positive");
        if (Delay < TimeSpan.Zero) throw new InvalidRequestException("--delay-ms", (long)Delay.TotalMilliseconds, "must be zero or positive");
        if (Parallelism < 1 || Parallelism > 64) throw new InvalidRequestException("--parallel", Parallelism, "must be between 1 and 64");
        if (MaxDuration is { } d && d <= TimeSpan.Zero) throw new InvalidRequestException("--max-duration", d, "must be positive");
        if (BatchLockTimeout <= TimeSpan.Zero) throw new InvalidRequestException("--lock-timeout-ms", (long)BatchLockTimeout.TotalMilliseconds, "must be positive");
        if (DdlLockTimeout <= TimeSpan.Zero)
            throw new InvalidRequestException("--ddl-lock-timeout-ms", (long)DdlLockTimeout.TotalMilliseconds, "must be positive");
        if (DdlRetries < 1) throw new InvalidRequestException("ddl retries", DdlRetries, "must be at least 1");
        if (Index.MaxDop < 0) throw new InvalidRequestException("--maxdop", Index.MaxDop, "must be zero or positive");
        if (!new[] { "NONE", "ROW", "PAGE" }.Contains(Index.DataCompression, StringComparer.OrdinalIgnoreCase))
            throw new InvalidRequestException("--data-compression", Index.DataCompression, "must be NONE, ROW or PAGE");
        if (Index.MaxDurationMinutes < 1) throw new InvalidRequestException("--index-max-duration", Index.MaxDurationMinutes, "must be at least one minute");
        Throttle.Validate();
        return this;
    }
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
    /// invalid input naming <paramref name="option"/> and the text. The range is checked by <see cref="Validate"/>.
    /// </summary>
    public static double? ParseLimit(string option, string text)
    {
        var trimmed = (text ?? "").Trim();
        if (trimmed.Equals(Off, StringComparison.OrdinalIgnoreCase)) return null;
        if (double.TryParse(trimmed, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value)) return value;
        throw new InvalidRequestException(option, text, $"is not a number or '{Off}'");
    }

    public void Validate()
    {
        if (MaxReplicaLagSeconds is < 0) throw new InvalidRequestException("--max-replica-lag", MaxReplicaLagSeconds, "must be zero or positive (or off)");
        if (MaxLogUsedPercent is < 0 or > 100) throw new InvalidRequestException("--max-log-used", MaxLogUsedPercent, "must be a percentage (or off)");
        if (MaxBlockedSessions is < 0) throw new InvalidRequestException("--max-blocked-sessions", MaxBlockedSessions, "must be zero or positive (or off)");
        if (CustomQuery is { } q && string.IsNullOrWhiteSpace(q)) throw new InvalidRequestException("--throttle-query", q, "is empty");
    }
}
