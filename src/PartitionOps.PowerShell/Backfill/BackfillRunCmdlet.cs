using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.PowerShell.Backfill;

/// <summary>
/// Adds the batch and throttle parameters of a run, and runs Start / Undo: a dry run gives the plan,
/// ShouldProcess shows its SQL, then the real run writes one Write-Progress bar per resource type.
/// </summary>
public abstract class BackfillRunCmdlet : BackfillScopeCmdlet
{
    [Parameter] public int? BatchSize { get; set; }
    [Parameter] public int? TargetBatchMilliseconds { get; set; }
    [Parameter] public int? DelayMilliseconds { get; set; }
    [Parameter] public int? Parallel { get; set; }
    [Parameter] public TimeSpan? MaxDuration { get; set; }
    [Parameter] public int? LockTimeoutMilliseconds { get; set; }
    [Parameter] public int? DdlLockTimeoutMilliseconds { get; set; }
    [Parameter] public string? ThrottleQuery { get; set; }
    [Parameter] public double? MaxReplicaLagSeconds { get; set; }
    [Parameter] public double? MaxLogUsedPercent { get; set; }
    [Parameter] public double? MaxBlockedSessions { get; set; }

    /// <summary>Throttle limits to switch off (not checked): ReplicaLag, LogUsed, BlockedSessions.</summary>
    [Parameter]
    [ValidateSet("ReplicaLag", "LogUsed", "BlockedSessions", IgnoreCase = true)]
    public string[]? DisableThrottle { get; set; }

    protected internal override BackfillParameters GetParameters(IReadOnlyList<string>? resourceTypes = null) =>
        base.GetParameters(resourceTypes) with
        {
            BatchSize = BatchSize,
            TargetBatchMilliseconds = TargetBatchMilliseconds,
            DelayMilliseconds = DelayMilliseconds,
            Parallel = Parallel,
            MaxDuration = MaxDuration,
            LockTimeoutMilliseconds = LockTimeoutMilliseconds,
            DdlLockTimeoutMilliseconds = DdlLockTimeoutMilliseconds,
            ThrottleQuery = ThrottleQuery,
            MaxReplicaLagSeconds = MaxReplicaLagSeconds,
            MaxLogUsedPercent = MaxLogUsedPercent,
            MaxBlockedSessions = MaxBlockedSessions,
            DisableThrottle = DisableThrottle,
        };

    /// <summary>The engine call: StartAsync or UndoAsync.</summary>
    protected abstract Task<BackfillResult> ExecuteAsync(
        BackfillService service, BackfillRequest request, IProgress<BackfillEvent>? events, CancellationToken ct);

    /// <summary>What -WhatIf / -Confirm call the operation.</summary>
    protected abstract string Operation { get; }

    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var tracker = new BackfillProgressTracker();
        var result = RunEngine(async ct =>
        {
            var request = BackfillMapping.ToRequest(Target, GetParameters(resourceTypes));
            var service = new BackfillService();
            // The plan is cheap (catalog reads only) and is what -WhatIf prints and -Confirm asks about.
            return await PlanThenRunAsync(
                Operation,
                c => ExecuteAsync(service, request with { DryRun = true }, null, c),
                planned =>
                {
                    var plan = planned.Plan ?? throw new PartitionOpsException("the engine returned no plan for the dry run");
                    var summary = BackfillMapping.PlanSummary(plan, resourceTypes, request.Scope.Profile);
                    return new PlanPreview(plan.Table, plan.Statements.ToList(), summary);
                },
                (_, c) => ExecuteAsync(service, request, CreateProgress<BackfillEvent>(e => OnEvent(tracker, e)), c),
                ct).ConfigureAwait(false);
        });
        if (!CancellationToken.IsCancellationRequested)
            foreach (var done in tracker.Complete()) WriteProgressUpdate(done);
        if (result is null) return;

        WriteObject(result);
        if (result.Status == BackfillStatus.Paused)
            WriteVerbose($"Paused ({result.StopReason ?? "stopped"}): "
                + "run the same command again to resume where it stopped.");
        else if (result.Status == BackfillStatus.Failed)
        {
            WriteFailure(new PartitionOpsException(BackfillMapping.FailureMessage(Operation, result)), ErrorTarget);
        }
    }

    /// <summary>Per-type events become progress bars; phase events become verbose messages.</summary>
    private void OnEvent(BackfillProgressTracker tracker, BackfillEvent e)
    {
        // After Ctrl+C the pipeline refuses writes; the engine finishes its batch and returns a paused result.
        if (CancellationToken.IsCancellationRequested) return;
        if (e.Type is { } type) WriteProgressUpdate(tracker.Update(type));
        else WriteVerbose(Scrub($"[{e.Phase}] {e.Message}"));
    }

    private void WriteProgressUpdate(ProgressUpdate update) =>
        WriteProgress(new ProgressRecord(update.ActivityId, update.Activity, update.Status)
        {
            PercentComplete = update.PercentComplete,
            SecondsRemaining = update.SecondsRemaining,
            RecordType = update.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });
}
