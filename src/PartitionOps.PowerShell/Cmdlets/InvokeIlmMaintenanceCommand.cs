using System.Diagnostics;
using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Invoke-IlmMaintenance: the spec's integrated flow and execute_pending_merges for each table: reconcile
/// interrupted merges, move partitions to their tier, merge due months into their yearly partition, retry failed
/// merges (MERGE_RETRY_FAILED), write the audit rows. Plans first: -WhatIf prints the SQL, -Confirm asks with it.
/// -MaxMerges and -MaxDuration are budgets for the whole invocation (all piped tables); what is left over runs next time.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "IlmMaintenance", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true,
    ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(IlmActionResult))]
public sealed class InvokeIlmMaintenanceCommand : IlmTableCmdlet
{
    private readonly Stopwatch _elapsed = new();
    private int _mergesUsed;

    /// <summary>Partitions merged at most in this invocation (all tables together); default MAX_MERGES_PER_RUN per table.</summary>
    [Parameter] public int? MaxMerges { get; set; }

    /// <summary>Lock timeout of each move and merge, seconds; default MERGE_LOCK_TIMEOUT.</summary>
    [Parameter] public int? LockTimeoutSeconds { get; set; }

    /// <summary>No action (and no table) starts after this long; the running action finishes. For Azure Automation's 3 hours.</summary>
    [Parameter] public TimeSpan? MaxDuration { get; set; }

    protected internal override IlmParameters GetParameters() => base.GetParameters() with
    {
        MaxMerges = MaxMerges,
        LockTimeoutSeconds = LockTimeoutSeconds,
        MaxDuration = MaxDuration,
    };

    /// <summary>The parameters for the next table: what is left of -MaxMerges and -MaxDuration; null when nothing is left.</summary>
    public static IlmParameters? Remaining(IlmParameters p, int mergesUsed, TimeSpan elapsed)
    {
        if (p.MaxDuration is { } max && max >= TimeSpan.Zero && elapsed >= max) return null;
        return p with
        {
            MaxMerges = p.MaxMerges is { } m && m >= 0 ? Math.Max(0, m - mergesUsed) : p.MaxMerges,
            MaxDuration = p.MaxDuration is { } d && d >= TimeSpan.Zero ? d - elapsed : p.MaxDuration,
        };
    }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        _elapsed.Start();
    }

    protected override void ProcessIlm()
    {
        var p = Remaining(GetParameters(), _mergesUsed, _elapsed.Elapsed);
        if (p is null)
        {
            WriteWarning($"{Table}: not started, -MaxDuration {MaxDuration} reached: the next run does it.");
            return;
        }
        var done = RunEngine(async ct =>
        {
            var request = IlmMapping.ToRunRequest(Target, p);
            var run = await PlanThenRunAsync(new IlmService(), request, "ILM maintenance (moves and merges)", ct).ConfigureAwait(false);
            return run is null ? null : new Done(run, request);
        });
        if (done is null) return;
        _mergesUsed += done.Run.Outcomes
            .Where(o => o.Status is IlmStatus.Success or IlmStatus.Failed)
            .Sum(o => o.Action is MergeAction m ? m.MergedSources.Count : 0);
        foreach (var result in IlmActionResult.From(done.Run, done.Request.Policy)) WriteObject(result);
        ReportRun(done.Run, "ILM maintenance");
    }

    private sealed record Done(IlmRunResult Run, IlmRunRequest Request);
}
