using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.PowerShell.Connection;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Invoke-IlmPartitionMerge: runs the merges it is given: candidates piped from Get-IlmMergeCandidate (bound by
/// property name), or one monthly partition named with -Table -Partition (the spec's manual
/// merge_monthly_into_yearly, which also retries a merge whose last attempt failed). ConfirmImpact High.
/// The engine runs a table's plan as a whole, capped by MAX_MERGES_PER_RUN; this cmdlet caps it at the selected
/// merges (see <see cref="IlmSelection"/>) and refuses, unless -Force, when the capped plan would still run
/// something that was not selected (moves, renames, earlier merges). -WhatIf prints the exact SQL either way.
/// Piped records are collected and run per table in EndProcessing.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "IlmPartitionMerge", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(IlmActionResult))]
public sealed class InvokeIlmPartitionMergeCommand : IlmTableCmdlet
{
    public const string AdditionalActionsErrorId = "IlmAdditionalActions";

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

    /// <summary>Also run what the engine cannot leave out of the table's run (moves, renames, earlier merges of the plan).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

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
                "is needed: name the monthly partition to merge (-Table SALES -Partition P_2023_11), or pipe candidates from Get-IlmMergeCandidate");
        var selected = new IlmSelectedAction(action.Trim(), sources, string.IsNullOrWhiteSpace(targetPartition) ? null : targetPartition.Trim());
        return IlmSelection.IsSkip(selected) ? null : selected;
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
            var service = new IlmService();
            var request = IlmMapping.ToRunRequest(Target, p);
            var full = await service.PlanAsync(IlmMapping.ToPlanRequest(request), ct).ConfigureAwait(false);
            var table = $"{full.Layout.Schema}.{full.Layout.Table}";
            var (cap, problems) = IlmSelection.Resolve(full, selection);
            if (problems.Count > 0)
                throw new InvalidRequestException(p.ExplicitMerge ? "-Partition" : "-SourcePartition",
                    string.Join(", ", selection.SelectMany(s => s.SourcePartitions)),
                    $"cannot be merged on {table}: {string.Join("; ", problems)}");

            request = request with { Overrides = request.Overrides with { MaxMerges = cap } };
            var capped = await service.PlanAsync(IlmMapping.ToPlanRequest(request), ct).ConfigureAwait(false);
            if (IlmSelection.Verify(full, capped, cap) is { } why) return new Done(null, request, $"{table}: {why}");
            var additional = IlmSelection.Additional(capped, selection);
            var also = string.Join("; ", additional);
            if (additional.Count > 0)
                WriteWarningSafe($"{table}: the engine runs the table's plan as a whole, so this would also {also}" + (Force ? "." : " (only with -Force)."));
            if (!ShouldProcessPlan(DescribeTarget(table), "Merge partitions", PlanStatements(capped))) return null;
            if (additional.Count > 0 && !Force)
                return new Done(null, request, $"{table}: nothing was run: the engine would also {also}. "
                    + "Pipe those candidates too, add -Force to run them, or run Invoke-IlmMaintenance for the table.");
            var run = await service.RunAsync(request, CreateIlmProgress(table), ct).ConfigureAwait(false);
            return new Done(run, request, null);
        });
        if (done is null) return;
        if (done.Refusal is { } refusal)
        {
            WriteFailure(new PartitionOpsException(refusal), ErrorTarget, AdditionalActionsErrorId);
            return;
        }
        var run = done.Run!;
        foreach (var result in IlmActionResult.From(run, done.Request.Policy, a => IlmSelection.IsRequested(a, selection)))
            WriteObject(result);
        var ran = run.Outcomes.Select(o => o.Action).Concat(run.NotStarted).OfType<MergeAction>().SelectMany(m => m.MergedSources)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = selection.Where(s => s.IsMerge).SelectMany(s => s.MergedSources).Where(s => !ran.Contains(s)).ToList();
        if (missing.Count > 0)
            WriteWarning($"{run.Plan.Layout.Schema}.{run.Plan.Layout.Table}: {string.Join(", ", missing)} did not merge: the table changed between the plan and the run; run Get-IlmMergeCandidate again.");
        ReportRun(run, "Invoke-IlmPartitionMerge");
    }

    private sealed record Done(IlmRunResult? Run, IlmRunRequest Request, string? Refusal);

    private sealed record GroupKey(PartitionOpsConnection Connection, bool FromConnectionParameter, IlmParameters Parameters)
    {
        public bool Matches(GroupKey other) =>
            ReferenceEquals(Connection, other.Connection)
            && Same(Parameters.Table, other.Parameters.Table) && Same(Parameters.Schema, other.Parameters.Schema)
            && Same(Parameters.ControlSchema, other.Parameters.ControlSchema) && Same(Parameters.Policy, other.Parameters.Policy)
            && Equals(Date(Parameters.AsOf), Date(other.Parameters.AsOf))
            && Parameters.LockTimeoutSeconds == other.Parameters.LockTimeoutSeconds && Parameters.ExplicitMerge == other.Parameters.ExplicitMerge;

        private static bool Same(string? a, string? b) => string.Equals(a?.Trim() ?? "", b?.Trim() ?? "", StringComparison.OrdinalIgnoreCase);

        private static DateOnly? Date(object? asOf) => IlmMapping.AsOf(asOf);
    }

    private sealed class Group(GroupKey key)
    {
        public GroupKey Key { get; } = key;
        public List<IlmSelectedAction> Selection { get; } = [];
    }
}
