using System.Globalization;

namespace PartitionOps.Engine.Ilm.Execution;

/// <summary>
/// The spec's dwh_ilm_config keys, with its defaults. Values are read from the control table, then
/// command-line options (<see cref="IlmConfigOverrides"/>) win.
/// </summary>
public sealed record IlmConfig
{
    public const string AutoMergeKey = "AUTO_MERGE_PARTITIONS";
    public const string LockTimeoutKey = "MERGE_LOCK_TIMEOUT";
    public const string RetryFailedKey = "MERGE_RETRY_FAILED";
    public const string MaxMergesKey = "MAX_MERGES_PER_RUN";

    /// <summary>The keys, their defaults and descriptions, as the spec seeds them.</summary>
    public static readonly IReadOnlyList<(string Key, string Value, string Description)> Defaults =
    [
        (AutoMergeKey, "Y", "Enable automatic partition merging when moving to WARM/COLD tiers"),
        (LockTimeoutKey, "30", "Lock timeout for partition merge operations (seconds)"),
        (RetryFailedKey, "Y", "Retry failed partition merges on next ILM run"),
        (MaxMergesKey, "50", "Maximum number of partition merges per ILM execution"),
    ];

    public bool AutoMergePartitions { get; init; } = true;
    public int MergeLockTimeoutSeconds { get; init; } = 30;
    public bool MergeRetryFailed { get; init; } = true;
    public int MaxMergesPerRun { get; init; } = 50;

    public static IlmConfig Default { get; } = new();

    /// <summary>Reads the table's rows; unknown keys are ignored, a bad value names its key.</summary>
    public static IlmConfig FromValues(IReadOnlyDictionary<string, string?> values)
    {
        var config = Default;
        string? Get(string key) => values.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        if (Get(AutoMergeKey) is { } auto) config = config with { AutoMergePartitions = YesNo(AutoMergeKey, auto) };
        if (Get(LockTimeoutKey) is { } timeout)
            config = config with { MergeLockTimeoutSeconds = Positive(LockTimeoutKey, timeout, allowZero: false) };
        if (Get(RetryFailedKey) is { } retry) config = config with { MergeRetryFailed = YesNo(RetryFailedKey, retry) };
        if (Get(MaxMergesKey) is { } max) config = config with { MaxMergesPerRun = Positive(MaxMergesKey, max, allowZero: true) };
        return config;
    }

    /// <summary>Checks a value before it is written with SetConfig.</summary>
    public static void Validate(string key, string value) => Normalize(key, value);

    /// <summary>
    /// The value as it is stored: Y or N for the switches (YES, TRUE, 1, no, false, 0... are accepted and written as
    /// Y / N, the spec's values), the whole number without sign or leading zeros for the others. Checks it first: an
    /// unknown key, an empty or bad value is bad input naming it.
    /// </summary>
    public static string Normalize(string key, string? value)
    {
        var known = Defaults.Any(d => d.Key.Equals(key, StringComparison.Ordinal));
        if (!known)
            throw new InvalidRequestException(nameof(IlmSetConfigRequest.Key), key,
                $"is not an ILM setting: use one of {string.Join(", ", Defaults.Select(d => d.Key))}");
        if (string.IsNullOrWhiteSpace(value))
            throw new InvalidRequestException(key, value ?? "",
                key is AutoMergeKey or RetryFailedKey ? "is empty: use Y or N" : "is empty: use a whole number");
        var text = value.Trim();
        return key switch
        {
            AutoMergeKey or RetryFailedKey => YesNo(key, text) ? "Y" : "N",
            LockTimeoutKey => Positive(key, text, allowZero: false).ToString(CultureInfo.InvariantCulture),
            _ => Positive(key, text, allowZero: true).ToString(CultureInfo.InvariantCulture),
        };
    }

    public IlmConfig With(IlmConfigOverrides? overrides)
    {
        if (overrides is null) return this;
        overrides.Validate();
        return this with
        {
            AutoMergePartitions = overrides.AutoMergePartitions ?? AutoMergePartitions,
            MergeLockTimeoutSeconds = overrides.LockTimeoutSeconds ?? MergeLockTimeoutSeconds,
            MergeRetryFailed = overrides.RetryFailed ?? MergeRetryFailed,
            MaxMergesPerRun = overrides.MaxMerges ?? MaxMergesPerRun,
        };
    }

    private static bool YesNo(string key, string value) => value.ToUpperInvariant() switch
    {
        "Y" or "YES" or "TRUE" or "1" => true,
        "N" or "NO" or "FALSE" or "0" => false,
        _ => throw new InvalidRequestException(key, value, "must be Y or N"),
    };

    /// <summary>
    /// Oracle's DDL_LOCK_TIMEOUT, which MERGE_LOCK_TIMEOUT sets, takes 0 to 1,000,000 seconds
    /// (https://docs.oracle.com/en/database/oracle/oracle-database/19/refrn/DDL_LOCK_TIMEOUT.html); 0 is refused here
    /// because PostgreSQL reads lock_timeout = 0 as "wait forever".
    /// </summary>
    public const int MaxLockTimeoutSeconds = 1_000_000;

    /// <summary>Most merges in one run: far above a year of months for every table; more is a typo.</summary>
    public const int MaxMergesLimit = 100_000;

    private static int Positive(string key, string value, bool allowZero)
    {
        var max = key == LockTimeoutKey ? MaxLockTimeoutSeconds : MaxMergesLimit;
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < (allowZero ? 0 : 1) || n > max)
            throw new InvalidRequestException(key, value, $"must be a whole number from {(allowZero ? 0 : 1)} to {max:N0}");
        return n;
    }
}

/// <summary>Command-line options that win over dwh_ilm_config (--max-merges, --lock-timeout...).</summary>
public sealed record IlmConfigOverrides
{
    public bool? AutoMergePartitions { get; init; }
    public int? LockTimeoutSeconds { get; init; }
    public bool? RetryFailed { get; init; }
    public int? MaxMerges { get; init; }

    public void Validate()
    {
        if (LockTimeoutSeconds is < 1 or > IlmConfig.MaxLockTimeoutSeconds)
            throw new InvalidRequestException(nameof(LockTimeoutSeconds), LockTimeoutSeconds,
                $"must be a whole number of seconds from 1 to {IlmConfig.MaxLockTimeoutSeconds:N0} (Oracle's DDL_LOCK_TIMEOUT limit)");
        if (MaxMerges is < 0 or > IlmConfig.MaxMergesLimit)
            throw new InvalidRequestException(nameof(MaxMerges), MaxMerges, $"must be from 0 to {IlmConfig.MaxMergesLimit:N0}");
    }
}
