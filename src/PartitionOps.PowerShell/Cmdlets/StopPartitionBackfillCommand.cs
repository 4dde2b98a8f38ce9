using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Stop-PartitionBackfill: sets the stop flag in the control tables; every runner on the table (any host)
/// finishes its current batch and pauses. The next Start-PartitionBackfill clears the flag and resumes.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "PartitionBackfill", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true)]
[OutputType(typeof(BackfillProgressReport))]
public sealed class StopPartitionBackfillCommand : BackfillCmdlet
{
    /// <summary>Outputs the run's progress report after setting the flag.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var report = RunEngine(async ct =>
        {
            var scope = CreateScope(resourceTypes);
            var plan = BackfillMapping.StopPlan(scope);
            if (!ShouldProcessPlan(DescribeTarget(BackfillMapping.TableName(scope)), "Stop backfill", plan))
                return null;
            var service = new BackfillService();
            await service.RequestStopAsync(scope, ct).ConfigureAwait(false);
            WriteVerboseSafe("Stop requested: running workers pause after their current batch.");
            return PassThru ? await service.GetProgressAsync(scope, exact: false, ct).ConfigureAwait(false) : null;
        });
        if (report != null) WriteObject(report);
    }
}
