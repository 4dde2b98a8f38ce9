using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Get-IlmMergeHistory: rows of dwh_ilm_partition_merges (the spec's audit: SUCCESS, FAILED, SKIPPED, and
/// IN_PROGRESS while a merge runs), newest first; without -Table every table's. Reads only: nothing before the
/// first run (no control tables yet), and nothing is created.
/// </summary>
[Cmdlet(VerbsCommon.Get, "IlmMergeHistory", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(MergeAuditRecord))]
public sealed class GetIlmMergeHistoryCommand : IlmCmdlet
{
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TableName")]
    public string? Table { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TableOwner")]
    public string? Schema { get; set; }

    /// <summary>Rows at most (newest first); default 100.</summary>
    [Parameter] public int? MaxRows { get; set; }

    protected internal override IlmParameters GetParameters() =>
        base.GetParameters() with { Table = Table, Schema = Schema, MaxRows = MaxRows };

    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var rows = RunEngine(ct => new IlmService().HistoryAsync(IlmMapping.ToHistoryRequest(Target, p), ct));
        if (rows is null) return;
        foreach (var row in rows) WriteObject(row);
    }
}
