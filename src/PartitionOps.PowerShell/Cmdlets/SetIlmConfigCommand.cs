using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Set-IlmConfig: writes one dwh_ilm_config row. Known keys only, values checked as the engine reads them
/// (AUTO_MERGE_PARTITIONS and MERGE_RETRY_FAILED Y/N, MERGE_LOCK_TIMEOUT whole seconds above 0,
/// MAX_MERGES_PER_RUN a whole number 0 or more), before anything is written. -WhatIf shows the SQL.
/// </summary>
[Cmdlet(VerbsCommon.Set, "IlmConfig", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true,
    ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(IlmConfigEntry))]
public sealed class SetIlmConfigCommand : IlmCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateSet("AUTO_MERGE_PARTITIONS", "MERGE_LOCK_TIMEOUT", "MERGE_RETRY_FAILED", "MAX_MERGES_PER_RUN", IgnoreCase = true)]
    public string? Key { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string? Value { get; set; }

    /// <summary>The row's description; default: the spec's text for the key.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Description { get; set; }

    /// <summary>Outputs the config row as stored.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected internal override IlmParameters GetParameters() =>
        base.GetParameters() with { Key = Key, Value = Value, Description = Description };

    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var entry = RunEngine(async ct =>
        {
            var request = IlmMapping.ToSetConfigRequest(Target, p);
            if (!ShouldProcessPlan(
                    DescribeTarget("dwh_ilm_config"), $"Set {request.Key} = {request.Value}", IlmMapping.SetConfigPlan(request)))
                return null;
            var service = new IlmService();
            await service.SetConfigAsync(request, ct).ConfigureAwait(false);
            if (!PassThru) return null;
            var snapshot = await service.GetConfigAsync(
                new IlmConfigRequest(request.Target) { ControlSchema = request.ControlSchema }, ct).ConfigureAwait(false);
            return snapshot.Entries.FirstOrDefault(e => e.Key.Equals(request.Key, StringComparison.OrdinalIgnoreCase));
        });
        if (entry != null) WriteObject(entry);
    }
}
