using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Test-BackfillPrerequisite: edition and online/resumable index support, permissions, the lookup, and a
/// sample batch timed inside a transaction that is rolled back (nothing persists) to estimate the duration.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "BackfillPrerequisite", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(PrerequisiteReport))]
public sealed class TestBackfillPrerequisiteCommand : BackfillScopeCmdlet
{
    /// <summary>Rows in the sample batch (the first batch size of a run).</summary>
    [Parameter] public int? BatchSize { get; set; }

    /// <summary>Accept an edition that cannot build indexes online.</summary>
    [Parameter] public SwitchParameter AllowOfflineIndexBuild { get; set; }

    /// <summary>Rows per second an index build is assumed to read (estimates of builds that cannot be paused).</summary>
    [Parameter] public long? IndexBuildRowsPerSecond { get; set; }

    protected internal override BackfillParameters GetParameters(IReadOnlyList<string>? resourceTypes = null) =>
        base.GetParameters(resourceTypes) with
        {
            BatchSize = BatchSize,
            AllowOfflineIndexBuild = AllowOfflineIndexBuild.IsPresent,
            IndexBuildRowsPerSecond = IndexBuildRowsPerSecond,
        };

    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var report = RunEngine(ct =>
            new BackfillService().TestPrerequisitesAsync(BackfillMapping.ToRequest(Target, GetParameters(resourceTypes)), ct));
        if (report is null) return;
        foreach (var check in report.Checks.Where(c => !c.Passed))
            WriteVerbose($"Failed: {check.Name}: {check.Detail}");
        WriteObject(report);
    }
}
