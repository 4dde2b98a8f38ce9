using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Get-IlmPartitionSummary: the spec's "partition count by tier" for a table: one row per tier (by the tablespace
/// each partition is in now) with yearly, monthly and other partitions and the catalog row estimate. Reads only.
/// </summary>
[Cmdlet(VerbsCommon.Get, "IlmPartitionSummary", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(IlmPartitionSummaryRow))]
public sealed class GetIlmPartitionSummaryCommand : IlmCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("TableName")]
    public string? Table { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TableOwner")]
    public string? Schema { get; set; }

    /// <summary>The policy whose tablespaces name the tiers; default: the spec's TBS_HOT, TBS_WARM, TBS_COLD.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Policy { get; set; }

    protected override string? PolicyParameter => Policy;

    protected internal override IlmParameters GetParameters() => base.GetParameters() with { Table = Table, Schema = Schema };

    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var summary = RunEngine(ct =>
        {
            var (request, policy) = IlmMapping.ToSummaryRequest(Target, p);
            return new IlmService().SummaryAsync(request, policy, ct);
        });
        if (summary is null) return;
        foreach (var row in IlmPartitionSummaryRow.From(summary)) WriteObject(row);
    }
}
