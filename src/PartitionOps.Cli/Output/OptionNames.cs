using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Cli.Output;

/// <summary>
/// The command line's one map from the engine's parameter keys (request property names) to its options. Errors the
/// engine raises name the key; <see cref="CliOutput.Fail"/> shows the option. A key not listed is shown as it is.
/// </summary>
internal static class OptionNames
{
    public static readonly IReadOnlyDictionary<string, string> ByKey = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(DatabaseTarget.Provider)] = "--provider",
        [nameof(DatabaseTarget.ConnectionString)] = "--connection",
        ["AccessToken"] = "--connection",
        [nameof(BackfillScope.Schema)] = "--schema",
        [nameof(BackfillScope.ControlSchema)] = "--control-schema",
        [nameof(BackfillScope.Profile)] = "--profile",
        [nameof(BackfillScope.ResourceTypes)] = "--resource-type",
        [nameof(BackfillRequest.BatchSize)] = "--batch-size",
        [nameof(BackfillRequest.TargetBatchTime)] = "--target-batch-ms",
        [nameof(BackfillRequest.Delay)] = "--delay-ms",
        [nameof(BackfillRequest.Parallelism)] = "--parallel",
        [nameof(BackfillRequest.MaxDuration)] = "--max-duration",
        [nameof(BackfillRequest.BatchLockTimeout)] = "--lock-timeout-ms",
        [nameof(BackfillRequest.DdlLockTimeout)] = "--ddl-lock-timeout-ms",
        [nameof(BackfillRequest.Phase)] = "--phase",
        [nameof(BackfillRequest.SkipIndexes)] = "--skip-indexes",
        [nameof(BackfillRequest.IndexBuildRowsPerSecond)] = "--index-build-rate",
        [nameof(ThrottleOptions.CustomQuery)] = "--throttle-query",
        [nameof(ThrottleOptions.MaxReplicaLagSeconds)] = "--max-replica-lag",
        [nameof(ThrottleOptions.MaxLogUsedPercent)] = "--max-log-used",
        [nameof(ThrottleOptions.MaxBlockedSessions)] = "--max-blocked-sessions",
        [nameof(IndexBuildOptions.AllowOffline)] = "--offline-index-build",
        [nameof(IndexBuildOptions.MaxDop)] = "--maxdop",
        [nameof(IndexBuildOptions.DataCompression)] = "--data-compression",
        [nameof(IndexBuildOptions.MaxDurationMinutes)] = "--index-max-duration",
        [nameof(IlmTableRequest.Table)] = "--table",
        [nameof(IlmRunRequest.Policy)] = "--policy",
        [nameof(IlmRunRequest.AsOf)] = "--as-of",
        [nameof(IlmRunRequest.Only)] = "--only-partition",
        [nameof(IlmPlanRequest.Layout)] = "--layout",
        [nameof(IlmConfigOverrides.MaxMerges)] = "--max-merges",
        [nameof(IlmConfigOverrides.LockTimeoutSeconds)] = "--lock-timeout",
        [nameof(IlmHistoryRequest.MaxRows)] = "--max-rows",
        [nameof(IlmSimulateRequest.From)] = "--from",
        [nameof(IlmSimulateRequest.To)] = "--to",
        [nameof(IlmSimulateRequest.RowsPerNewMonth)] = "--rows-per-month",
        [nameof(IlmSetConfigRequest.Key)] = "KEY",
        [nameof(IlmSetConfigRequest.Description)] = "--description",
        [nameof(IlmHealthRequest.VerifyIndexes)] = "--verify-indexes",
        [nameof(IlmHealthThresholds.WindowDays)] = "--window-days",
        [nameof(IlmHealthThresholds.FailedNotRetriedDays)] = "--failed-not-retried-days",
        [nameof(IlmHealthThresholds.MaxFailureRatePercent)] = "--max-failure-rate",
        [nameof(IlmHealthThresholds.MinSuccessRatePercent)] = "--min-success-rate",
        [nameof(IlmHealthThresholds.MaxWarmMonthlyPercent)] = "--max-warm-monthly-percent",
        [nameof(IlmHealthThresholds.MaxMergeSeconds)] = "--max-merge-seconds",
        [nameof(IlmHealthThresholds.MaxAverageMergeSeconds)] = "--max-average-merge-seconds",
        [nameof(IlmHealthThresholds.MaxWarmMonthlyPartitions)] = "--max-warm-monthly",
    };

    /// <summary>The error naming this command line's option instead of the engine's key.</summary>
    public static InvalidRequestException Translate(InvalidRequestException e) =>
        ByKey.TryGetValue(e.Parameter, out var option) ? e.Renamed(option) : e;
}
