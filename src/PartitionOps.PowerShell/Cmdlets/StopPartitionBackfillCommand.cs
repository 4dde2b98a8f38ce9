using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Stop-PartitionBackfill: sets the stop flag in the control tables; every runner on the table (any host)
/// finishes its current batch and pauses. The next Start-PartitionBackfill clears the flag and resumes.
/// Says what it flagged (the table as the engine resolved it, and the run it reaches) on the host, like
/// Write-Host: the information stream tagged PSHOST, so -InformationAction Ignore silences it.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "PartitionBackfill", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true)]
[OutputType(typeof(BackfillProgressReport))]
public sealed class StopPartitionBackfillCommand : BackfillCmdlet
{
    /// <summary>Outputs the run's progress report after setting the flag.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var outcome = RunEngine(async ct =>
        {
            var scope = CreateScope(resourceTypes);
            var plan = BackfillMapping.StopPlan(scope);
            if (!ShouldProcessPlan(DescribeTarget(BackfillMapping.TableName(scope)), "Stop backfill", plan))
                return null;
            var service = new BackfillService();
            var stop = await service.RequestStopAsync(scope, ct).ConfigureAwait(false);
            var report = PassThru ? await service.GetProgressAsync(scope, exact: false, ct).ConfigureAwait(false) : null;
            return new Outcome(stop, report);
        });
        if (outcome is null) return;
        WriteInformation(BackfillMapping.HostMessage(outcome.Stop.Summary), BackfillMapping.HostTags);
        if (outcome.Report != null) WriteObject(outcome.Report);
    }

    private sealed record Outcome(BackfillStopRequest Stop, BackfillProgressReport? Report);
}
