using System.Management.Automation;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Start-PartitionBackfill: phases 1-3 (partition column, filtered indexes, batched backfill). Always plans
/// first (a dry run): -WhatIf prints the plan's SQL, -Confirm asks with it; then runs with one progress bar
/// per resource type. Resumable: a paused run (-MaxDuration, Stop-PartitionBackfill, Ctrl+C) continues on
/// the next call.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "PartitionBackfill", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true)]
[OutputType(typeof(BackfillResult))]
public sealed class StartPartitionBackfillCommand : BackfillRunCmdlet
{
    [Parameter] public SwitchParameter SkipIndexes { get; set; }
    [Parameter] public SwitchParameter AllowOfflineIndexBuild { get; set; }
    [Parameter] public int? MaxDop { get; set; }

    [Parameter]
    [ValidateSet("NONE", "ROW", "PAGE", IgnoreCase = true)]
    public string? DataCompression { get; set; }

    [Parameter] public int? IndexMaxDurationMinutes { get; set; }

    /// <summary>One phase alone: Column, Indexes (e.g. outside a time-boxed runbook), Backfill; default All.</summary>
    [Parameter]
    [ValidateSet("All", "Column", "Indexes", "Backfill", IgnoreCase = true)]
    public string? Phase { get; set; }

    /// <summary>Rows per second an index build is assumed to read (estimates of builds that cannot be paused).</summary>
    [Parameter] public long? IndexBuildRowsPerSecond { get; set; }

    protected override string Operation => "Start backfill";

    protected internal override BackfillParameters GetParameters(IReadOnlyList<string>? resourceTypes = null) =>
        base.GetParameters(resourceTypes) with
        {
            SkipIndexes = SkipIndexes.IsPresent,
            AllowOfflineIndexBuild = AllowOfflineIndexBuild.IsPresent,
            MaxDop = MaxDop,
            DataCompression = DataCompression,
            IndexMaxDurationMinutes = IndexMaxDurationMinutes,
            Phase = Phase,
            IndexBuildRowsPerSecond = IndexBuildRowsPerSecond,
        };

    protected override Task<BackfillResult> ExecuteAsync(
        BackfillService service, BackfillRequest request, IProgress<BackfillEvent>? events, CancellationToken ct) =>
        service.StartAsync(request, events, ct);
}
