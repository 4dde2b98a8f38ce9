using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Test-BackfillIntegrity: the spec's two checks (system types with the default value, other types with the
/// system value). Outputs an IntegrityReport whose Passed is true when no row is misplaced, with the counts
/// behind it, for Pester validation suites.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "BackfillIntegrity", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(IntegrityReport))]
public sealed class TestBackfillIntegrityCommand : BackfillScopeCmdlet
{
    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var report = RunEngine(ct => new BackfillService().ValidateAsync(CreateScope(resourceTypes), ct));
        if (report is null) return;
        WriteVerbose($"{report.Table}: {report.MisplacedSystemRows} misplaced system rows, " +
                     $"{report.MisplacedUserRows} misplaced user rows.");
        WriteObject(report);
    }
}
