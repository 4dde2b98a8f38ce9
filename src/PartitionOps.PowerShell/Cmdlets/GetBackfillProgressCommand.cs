using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Get-BackfillProgress: one TypeProgress per resource type of the latest run (checkpoints plus catalog
/// estimates; -Exact counts rows), or with -AsReport the whole run as one BackfillProgressReport.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BackfillProgress", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(TypeProgress), typeof(BackfillProgressReport))]
public sealed class GetBackfillProgressCommand : BackfillScopeCmdlet
{
    /// <summary>Counts the rows of each type and those not yet moved (a scan per type; slower on large tables).</summary>
    [Parameter] public SwitchParameter Exact { get; set; }

    /// <summary>Outputs the run (status, table, totals, ETA, Types) instead of one object per type.</summary>
    [Parameter] public SwitchParameter AsReport { get; set; }

    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var report = RunEngine(ct => new BackfillService().GetProgressAsync(CreateScope(resourceTypes), Exact, ct));
        if (report is null) return;
        if (AsReport)
        {
            WriteObject(report);
            return;
        }
        if (report.RunId is null)
            WriteVerbose($"No backfill has run on {report.Table} yet: every type is pending.");
        foreach (var type in report.Types) WriteObject(type);
    }
}
