using System.Globalization;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Ilm.Monitoring;

/// <summary>The spec's alert thresholds and success criteria; every number can be changed.</summary>
public sealed record IlmHealthThresholds
{
    /// <summary>Days of merge history the rates and durations are computed over (the spec's SYSDATE - 7).</summary>
    public int WindowDays { get; init; } = 7;

    // Alerts
    public decimal MaxFailureRatePercent { get; init; } = 10m;
    public decimal MaxMergeSeconds { get; init; } = 300m;
    public int MaxWarmMonthlyPartitions { get; init; } = 100;
    public int FailedNotRetriedDays { get; init; } = 7;

    // Success criteria
    public decimal MaxWarmMonthlyPercent { get; init; } = 20m;
    public decimal MinSuccessRatePercent { get; init; } = 95m;
    public decimal MaxAverageMergeSeconds { get; init; } = 30m;

    /// <summary>100 years of days.</summary>
    public const int MaxDays = 36_600;

    /// <summary>A year of seconds: no merge threshold is longer.</summary>
    public const int MaxSeconds = 31_622_400;

    /// <summary>
    /// The one place a front end builds thresholds: every value not given (null) keeps the spec's; the result is
    /// checked, and a bad value is an <see cref="InvalidRequestException"/> keyed by this record's property name.
    /// </summary>
    public static IlmHealthThresholds Create(
        int? windowDays = null, decimal? maxFailureRatePercent = null, decimal? maxMergeSeconds = null,
        int? maxWarmMonthlyPartitions = null, int? failedNotRetriedDays = null, decimal? maxWarmMonthlyPercent = null,
        decimal? minSuccessRatePercent = null, decimal? maxAverageMergeSeconds = null)
    {
        var d = new IlmHealthThresholds();
        var t = d with
        {
            WindowDays = windowDays ?? d.WindowDays,
            MaxFailureRatePercent = maxFailureRatePercent ?? d.MaxFailureRatePercent,
            MaxMergeSeconds = maxMergeSeconds ?? d.MaxMergeSeconds,
            MaxWarmMonthlyPartitions = maxWarmMonthlyPartitions ?? d.MaxWarmMonthlyPartitions,
            FailedNotRetriedDays = failedNotRetriedDays ?? d.FailedNotRetriedDays,
            MaxWarmMonthlyPercent = maxWarmMonthlyPercent ?? d.MaxWarmMonthlyPercent,
            MinSuccessRatePercent = minSuccessRatePercent ?? d.MinSuccessRatePercent,
            MaxAverageMergeSeconds = maxAverageMergeSeconds ?? d.MaxAverageMergeSeconds,
        };
        t.Validate();
        return t;
    }

    public void Validate()
    {
        // Days count back from now in SQL (interval arithmetic) and in .NET (AddDays): 100 years is more than any audit holds.
        if (WindowDays is < 1 or > MaxDays)
            throw new InvalidRequestException(nameof(WindowDays), WindowDays, $"must be from 1 to {MaxDays:N0} days");
        if (FailedNotRetriedDays is < 1 or > MaxDays)
            throw new InvalidRequestException(nameof(FailedNotRetriedDays), FailedNotRetriedDays, $"must be from 1 to {MaxDays:N0} days");
        if (MaxFailureRatePercent is < 0 or > 100)
            throw new InvalidRequestException(nameof(MaxFailureRatePercent), MaxFailureRatePercent, "must be a percentage");
        if (MinSuccessRatePercent is < 0 or > 100)
            throw new InvalidRequestException(nameof(MinSuccessRatePercent), MinSuccessRatePercent, "must be a percentage");
        if (MaxWarmMonthlyPercent is < 0 or > 100)
            throw new InvalidRequestException(nameof(MaxWarmMonthlyPercent), MaxWarmMonthlyPercent, "must be a percentage");
        if (MaxMergeSeconds is < 0 or > MaxSeconds)
            throw new InvalidRequestException(nameof(MaxMergeSeconds), MaxMergeSeconds, $"must be from 0 to {MaxSeconds:N0} seconds");
        if (MaxAverageMergeSeconds is < 0 or > MaxSeconds)
            throw new InvalidRequestException(
                nameof(MaxAverageMergeSeconds), MaxAverageMergeSeconds, $"must be from 0 to {MaxSeconds:N0} seconds");
        if (MaxWarmMonthlyPartitions is < 0 or > 1_000_000)
            throw new InvalidRequestException(nameof(MaxWarmMonthlyPartitions), MaxWarmMonthlyPartitions, "must be from 0 to 1,000,000");
    }
}

/// <summary>The audit numbers health is computed from (one row of the dialect's MergeStatistics).</summary>
public sealed record MergeStatistics(long TotalMerges, long Succeeded, long Failed, decimal? AverageSuccessSeconds, decimal? MaxSeconds)
{
    public decimal? SuccessRatePercent => TotalMerges == 0 ? null : Math.Round(Succeeded * 100m / TotalMerges, 2);
    public decimal? FailureRatePercent => TotalMerges == 0 ? null : Math.Round(Failed * 100m / TotalMerges, 2);
}

/// <summary>One alert or criterion: its value, its threshold and whether it passed.</summary>
public sealed record IlmCheck(string Name, string Kind, bool Passed, decimal? Value, decimal Threshold, string Message);

/// <summary>
/// Test-IlmHealth / ilm health: <see cref="Passed"/> is false when an alert fires or a success
/// criterion is missed; the numbers behind it are all here.
/// </summary>
public sealed record IlmHealthReport(
    string? Table,
    bool Passed,
    IReadOnlyList<IlmCheck> Checks,
    MergeStatistics Statistics,
    long FailedNotRetried,
    int? WarmMonthly,
    int? WarmTotal,
    IlmHealthThresholds Thresholds)
{
    /// <summary>With --verify-indexes: every index looked at (ok, damaged, invalid, not verified), each problem's fix; else null.</summary>
    public IndexVerification? Indexes { get; init; }

    /// <summary>
    /// Objects of ours on the table (a change capture function with its triggers, a change log, a rebuild table, a temporary
    /// constraint): a failed run's leftovers, or a running one's work when <see cref="RunInProgress"/>. Empty when none, or when
    /// no table was named.
    /// </summary>
    public IReadOnlyList<IlmLeftover> Leftovers { get; init; } = [];

    /// <summary>A run of ours holds the table's run lock now (its objects are in use, not left behind).</summary>
    public bool RunInProgress { get; init; }

    public IEnumerable<IlmCheck> Alerts => Checks.Where(c => c.Kind == "alert" && !c.Passed);
    public IEnumerable<IlmCheck> MissedCriteria => Checks.Where(c => c.Kind == "criterion" && !c.Passed);
}

public static class IlmHealth
{
    /// <summary>Pure evaluation; <paramref name="summary"/> is null when no table was named (no partition counts).</summary>
    public static IlmHealthReport Evaluate(string? table, MergeStatistics stats, long failedNotRetried, IlmSummary? summary,
        IlmHealthThresholds? thresholds = null, IndexVerification? indexes = null, IReadOnlyList<IlmLeftover>? leftovers = null,
        bool runInProgress = false)
    {
        var t = thresholds ?? new IlmHealthThresholds();
        t.Validate();
        var checks = new List<IlmCheck>();
        var warm = summary?.For(IlmTier.Warm);
        int? warmMonthly = summary is null ? null : warm?.Monthly ?? 0;
        int? warmTotal = summary is null ? null : warm?.Total ?? 0;

        // Alerts (spec: "Recommended Alerts").
        checks.Add(Check("merge failure rate", "alert", stats.FailureRatePercent, t.MaxFailureRatePercent, above: true,
            $"% of merges failed in the last {t.WindowDays} days"));
        checks.Add(Check("longest merge", "alert", stats.MaxSeconds, t.MaxMergeSeconds, above: true, " seconds for the longest merge"));
        if (warmMonthly is { } wm)
            checks.Add(Check("WARM monthly partitions", "alert", wm, t.MaxWarmMonthlyPartitions, above: true,
                " monthly partitions in WARM"));
        checks.Add(Check($"failed merges not retried in {t.FailedNotRetriedDays} days", "alert", failedNotRetried, 0, above: true,
            $" partitions whose last merge failed more than {t.FailedNotRetriedDays} days ago"));

        // Success criteria (spec: "Success Criteria"); no data means nothing to fault.
        if (warmTotal is > 0)
        {
            var percent = Math.Round(warmMonthly!.Value * 100m / warmTotal.Value, 2);
            checks.Add(Check("WARM monthly share", "criterion", percent, t.MaxWarmMonthlyPercent, above: true,
                "% of WARM partitions are monthly", strict: false));
        }
        checks.Add(Check("merge success rate", "criterion", stats.SuccessRatePercent, t.MinSuccessRatePercent, above: false,
            "% of merges succeeded"));
        checks.Add(Check("average merge time", "criterion", stats.AverageSuccessSeconds, t.MaxAverageMergeSeconds, above: true,
            " seconds per successful merge on average", strict: false));

        if (indexes != null) checks.AddRange(IndexChecks(indexes));
        leftovers ??= [];
        if (table != null) checks.AddRange(LeftoverChecks(leftovers, runInProgress));

        return new IlmHealthReport(table, checks.All(c => c.Passed), checks, stats, failedNotRetried, warmMonthly, warmTotal, t)
        {
            Indexes = indexes,
            Leftovers = leftovers,
            RunInProgress = runInProgress,
        };
    }

    /// <summary>
    /// One alert per index with a problem, naming it and the statement that fixes it, and one for the count. Verification that
    /// was asked for and could not run is an alert too (a health check that checked nothing must not pass), saying how to enable it.
    /// </summary>
    private static IEnumerable<IlmCheck> IndexChecks(IndexVerification indexes)
    {
        if (indexes.CannotRun is { } why)
        {
            yield return new IlmCheck("index verification", "alert", false, null, 0, why);
            yield break;
        }
        var problems = indexes.Problems.ToList();
        foreach (var f in problems)
            yield return new IlmCheck($"index {f.Schema}.{f.Index}", "alert", false, null, 0,
                $"{f.Index} (partition {f.Partition}) {f.Problem}" + (f.Fix is { } fix ? $". Fix: {fix}" : ""));
        yield return new IlmCheck("damaged indexes", "alert", problems.Count == 0, problems.Count, 0,
            $"{problems.Count} of {indexes.Findings.Count} B-tree indexes of the partitions have a problem (wanted at most 0)");
    }

    /// <summary>
    /// What a failed run left costs the application until the next run drops it: a capture trigger logs every write into
    /// the partitions it was merging and refuses their TRUNCATE. One alert per object, with the statement that drops it now;
    /// none while a run holds the table (its objects are in use: dropping them would fail that run).
    /// </summary>
    private static IEnumerable<IlmCheck> LeftoverChecks(IReadOnlyList<IlmLeftover> leftovers, bool runInProgress)
    {
        if (runInProgress)
        {
            yield return new IlmCheck("objects left by failed runs", "alert", true, null, 0,
                $"a run is working on the table now: its {leftovers.Count} object(s) of ours are in use, not left behind");
            yield break;
        }
        foreach (var l in leftovers)
            yield return new IlmCheck($"left behind: {l.Kind} {l.Name}", "alert", false, null, 0,
                $"{l.Kind} {l.Name} was left by a failed run" +
                (l.Kind == "function" ? " (its triggers log every write into the partitions it was merging and refuse TRUNCATE)" : "") +
                $"; the next run drops it first. Fix now: {l.ByHand};");
        yield return new IlmCheck("objects left by failed runs", "alert", leftovers.Count == 0, leftovers.Count, 0,
            $"{leftovers.Count} object(s) of ours left by failed runs (wanted at most 0)");
    }

    /// <summary>
    /// A check fails when the value is beyond the threshold: above it for limits (alerts fire when
    /// "&gt; threshold"; criteria need "&lt; threshold", i.e. fail at &gt;=, when <paramref name="strict"/> is false),
    /// below it for minimums.
    /// </summary>
    private static IlmCheck Check(string name, string kind, decimal? value, decimal threshold, bool above, string unit, bool strict = true)
    {
        bool passed;
        if (value is not { } v) passed = true;
        else if (above) passed = strict ? v <= threshold : v < threshold;
        else passed = v > threshold;
        var shown = value?.ToString("0.##", CultureInfo.InvariantCulture) ?? "no data";
        var limit = threshold.ToString("0.##", CultureInfo.InvariantCulture);
        var relation = above ? (strict ? "at most" : "below") : "above";
        return new IlmCheck(name, kind, passed, value, threshold, $"{shown}{(value is null ? "" : unit)} (wanted {relation} {limit})");
    }
}
