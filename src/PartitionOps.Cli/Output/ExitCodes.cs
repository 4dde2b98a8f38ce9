using System.Data.Common;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.Cli.Output;

/// <summary>
/// The exit-code contract of DESIGN §5, in one place: 0 done (a clean pause is done), 1 the operation
/// failed, 2 invalid input (nothing was changed), 3 a check found problems.
/// </summary>
internal static class ExitCodes
{
    public const int Done = 0;
    public const int Failed = 1;
    public const int InvalidInput = 2;
    public const int CheckFailed = 3;

    /// <summary>Exit code and the error "kind" written in JSON for an exception that ended a command.</summary>
    public static (int Code, string Kind) Classify(Exception e) => e switch
    {
        InvalidRequestException => (InvalidInput, "invalid-input"),
        OperationCanceledException => (Failed, "cancelled"),
        PartitionOpsException => (Failed, "failed"),
        DbException => (Failed, "database"),
        _ => (Failed, "unexpected"),
    };

    /// <summary>
    /// Exit code of a start / undo result: done, planned and a clean pause (max duration, stop flag) are 0;
    /// failed types are 1; a pause caused by Ctrl+C is 1 too (the run did not end the way it was asked to).
    /// </summary>
    public static int ForRun(BackfillResult result) => result.Status switch
    {
        BackfillStatus.Done or BackfillStatus.Planned => Done,
        BackfillStatus.Paused when result.StopReason == "cancelled" => Failed,
        BackfillStatus.Paused => Done,
        _ => Failed,
    };

    public static int ForCheck(bool passed) => passed ? Done : CheckFailed;
}
