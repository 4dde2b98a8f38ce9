using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Get-IlmConfig: the rows of dwh_ilm_config (AUTO_MERGE_PARTITIONS, MERGE_LOCK_TIMEOUT, MERGE_RETRY_FAILED,
/// MAX_MERGES_PER_RUN, with their descriptions). Reads only: when the table (or a key's row) does not exist yet, the
/// spec's default is output with IsDefault = $true, and nothing is created. Pipes into Set-IlmConfig by property name.
/// </summary>
[Cmdlet(VerbsCommon.Get, "IlmConfig", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(IlmConfigEntry))]
public sealed class GetIlmConfigCommand : IlmCmdlet
{
    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var snapshot = RunEngine(ct => new IlmService().GetConfigAsync(IlmMapping.ToConfigRequest(Target, p), ct));
        if (snapshot is null) return;
        foreach (var entry in snapshot.Entries) WriteObject(entry);
    }
}
