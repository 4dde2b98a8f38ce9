using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.PowerShell.Connection;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Invoke-IlmPartitionMerge: runs the actions it is given and nothing else: candidates piped from
/// Get-IlmMergeCandidate (bound by property name), or one monthly partition named with -Table -Partition (the spec's
/// manual merge_monthly_into_yearly, which also retries a merge whose last attempt failed). ConfirmImpact High.
/// The engine plans the table as usual and runs only the chosen actions (IlmRunRequest.Only): a due move that was not
/// piped does not run. A choice that is not in the plan, or that needs an action that was not chosen (an earlier month
/// of the same merge, the merge that completes the year a January starts after), is an InvalidArgument error naming it
/// (-Partition or -SourcePartition), and nothing changes. -WhatIf prints the exact SQL of the chosen actions.
/// Piped records are collected and run per table in EndProcessing.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "IlmPartitionMerge", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true,
    ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(IlmActionResult))]
public sealed class InvokeIlmPartitionMergeCommand : IlmTableCmdlet
{
    private readonly List<Group> _groups = [];

    /// <summary>The monthly partition to merge into its yearly partition (P_YYYY_MM).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("MonthlyPartition")]
    public string? Partition { get; set; }

    /// <summary>From a candidate: Move, Merge, Rename or Skip (skips are ignored).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("Move", "Merge", "Rename", "Skip", IgnoreCase = true)]
    public string? Action { get; set; }

    /// <summary>From a candidate: the partitions of the action.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? SourcePartition { get; set; }

    /// <summary>From a candidate: the resulting partition (merge) or new name (rename).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? TargetPartition { get; set; }

    /// <summary>Lock timeout of the merge, seconds; default MERGE_LOCK_TIMEOUT.</summary>
    [Parameter] public int? LockTimeoutSeconds { get; set; }

    protected internal override IlmParameters GetParameters() => base.GetParameters() with
    {
        LockTimeoutSeconds = LockTimeoutSeconds,
        ExplicitMerge = !string.IsNullOrWhiteSpace(Partition),
    };

    /// <summary>The action the current record asks for: -Partition, else the piped candidate; null for a skip.</summary>
    public static IlmSelectedAction? Selection(string? partition, string? action, string[]? sourcePartition, string? targetPartition)
    {
        if (!string.IsNullOrWhiteSpace(partition)) return IlmSelectedAction.MergeOf(partition.Trim());
        var sources = (sourcePartition ?? []).Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s.Trim()).ToList();
        if (sources.Count == 0 || string.IsNullOrWhiteSpace(action))
            throw new InvalidRequestException("-Partition", partition ?? "",
                "is needed: name the monthly partition to merge (-Table SALES -Partition P_2023_11), or pipe candidates from " +
                    "Get-IlmMergeCandidate");
        var selected = new IlmSelectedAction(action.Trim(), sources,
            string.IsNullOrWhiteSpace(targetPartition) ? null : targetPartition.Trim());
        return selected.IsSkip ? null : selected;
    }

    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var selected = RunSync(ErrorTarget, ct =>
        {
            var s = Selection(Partition, Action, SourcePartition, TargetPartition);
            // Validate the record now: a bad -AsOf or -Table is reported for its record, not after the pipeline.
            _ = IlmMapping.ToRunRequest(Target, p, dryRun: true);
            return new { Value = s };
        });
        if (selected is null) return;
        if (selected.Value is null)
        {
            WriteVerbose($"{Table}: {string.Join(", ", SourcePartition ?? [])} is a skip candidate: nothing to run.");
            return;
        }
        var connection = ResolveConnection();
        var key = new GroupKey(connection, Connection != null, p with { });
        var group = _groups.FirstOrDefault(g => g.Key.Matches(key));
        if (group is null) _groups.Add(group = new Group(key));
        group.Selection.Add(selected.Value);
    }

    protected override void EndProcessing()
    {
        foreach (var group in _groups)
        {
            if (CancellationToken.IsCancellationRequested) break;
            // Target, Secrets and the error classifier follow the connection of this group.
            if (group.Key.FromConnectionParameter) Connection = group.Key.Connection;
            RunGroup(group.Key.Parameters, group.Selection);
        }
    }

    private void RunGroup(IlmParameters p, IReadOnlyList<IlmSelectedAction> selection)
    {
        var done = RunEngine(async ct =>
        {
            var request = IlmMapping.ToRunRequest(Target, p) with { Only = IlmSelection.Keys(selection) };
            try
            {
                // The dry run is the plan of only the chosen actions: what -WhatIf prints and -Confirm asks about.
                var run = await PlanThenRunAsync(new IlmService(), request, "Merge partitions", ct).ConfigureAwait(false);
                return run is null ? null : new Done(run, request);
            }
            catch (InvalidRequestException e)
            {
                throw IlmSelection.Translate(e, p.ExplicitMerge);
            }
        });
        if (done is null) return;
        foreach (var result in IlmActionResult.From(done.Run, done.Request.Policy)) WriteObject(result);
        ReportRun(done.Run, "Invoke-IlmPartitionMerge");
    }

    private sealed record Done(IlmRunResult Run, IlmRunRequest Request);

    private sealed record GroupKey(PartitionOpsConnection Connection, bool FromConnectionParameter, IlmParameters Parameters)
    {
        public bool Matches(GroupKey other) =>
            ReferenceEquals(Connection, other.Connection)
            && Same(Parameters.Table, other.Parameters.Table) && Same(Parameters.Schema, other.Parameters.Schema)
            && Same(Parameters.ControlSchema, other.Parameters.ControlSchema) && Same(Parameters.Policy, other.Parameters.Policy)
            && Equals(Date(Parameters.AsOf), Date(other.Parameters.AsOf))
            && Parameters.LockTimeoutSeconds == other.Parameters.LockTimeoutSeconds
                && Parameters.ExplicitMerge == other.Parameters.ExplicitMerge;

        private static bool Same(string? a, string? b) => string.Equals(a?.Trim() ?? "", b?.Trim() ?? "",
            StringComparison.OrdinalIgnoreCase);

        private static DateOnly? Date(object? asOf) => IlmMapping.AsOf(asOf);
    }

    private sealed class Group(GroupKey key)
    {
        public GroupKey Key { get; } = key;
        public List<IlmSelectedAction> Selection { get; } = [];
    }
}
