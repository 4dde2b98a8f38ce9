using System.Management.Automation;

namespace PartitionOps.PowerShell.Backfill;

/// <summary>
/// Adds -ResourceType, bindable by property name so that a CSV of types (or Get-BackfillProgress output) pipes in.
/// </summary>
public abstract class BackfillScopeCmdlet : BackfillCmdlet
{
    /// <summary>System types to work on (names as in the lookup table); default: all of the profile's system types.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TypeName")]
    public string[]? ResourceType { get; set; }

    protected override IEnumerable<string>? RecordResourceTypes => ResourceType;
}
