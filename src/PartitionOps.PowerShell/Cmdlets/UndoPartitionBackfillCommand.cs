using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Undo-PartitionBackfill: puts the system types (all, or -ResourceType) back to the default partition
/// value with the same batched, resumable engine. Leaves the column and the indexes alone. ConfirmImpact
/// High: it asks unless -Confirm:$false.
/// </summary>
[Cmdlet(VerbsCommon.Undo, "PartitionBackfill", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true,
    ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(BackfillResult))]
public sealed class UndoPartitionBackfillCommand : BackfillRunCmdlet
{
    protected override string Operation => "Undo backfill";

    protected override Task<BackfillResult> ExecuteAsync(
        BackfillService service, BackfillRequest request, IProgress<BackfillEvent>? events, CancellationToken ct) =>
        service.UndoAsync(request, events, ct);
}
