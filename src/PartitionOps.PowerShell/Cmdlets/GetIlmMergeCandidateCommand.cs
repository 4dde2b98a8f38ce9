using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Get-IlmMergeCandidate: the ILM plan of a table as objects, one per planned action (move, merge, rename; with
/// -IncludeSkipped also the partitions left alone and why), each with its tier, reason and exact SQL. Reads only.
/// The objects pipe into Invoke-IlmPartitionMerge by property name. Tables pipe in by property name
/// (Import-Csv tables.csv | Get-IlmMergeCandidate).
/// </summary>
[Cmdlet(VerbsCommon.Get, "IlmMergeCandidate", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(IlmMergeCandidate))]
public sealed class GetIlmMergeCandidateCommand : IlmTableCmdlet
{

    /// <summary>Plan with this MAX_MERGES_PER_RUN instead of dwh_ilm_config's.</summary>
    [Parameter] public int? MaxMerges { get; set; }

    /// <summary>Also output the partitions the plan leaves alone (Action Skip) with the reason.</summary>
    [Parameter] public SwitchParameter IncludeSkipped { get; set; }

    protected internal override IlmParameters GetParameters() => base.GetParameters() with
    {
        MaxMerges = MaxMerges,
    };

    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var planned = RunEngine(async ct =>
        {
            var request = IlmMapping.ToPlanRequest(Target, p);
            return (Plan: await new IlmService().PlanAsync(request, ct).ConfigureAwait(false), request.Policy);
        });
        if (planned.Plan is null) return;
        var plan = planned.Plan;
        WriteVerbose($"{plan.Layout.Schema}.{plan.Layout.Table} as of {IlmMapping.Date(plan.Plan.AsOf)}: {plan.Steps.Count} action(s), "
            + $"{plan.Plan.MergedPartitionCount} partition(s) merged, about {plan.Plan.RowsRewritten:N0} rows rewritten.");
        foreach (var candidate in IlmMergeCandidate.From(
                     plan, planned.Policy, ResolveConnection(), p.ControlSchema, p.Policy, IncludeSkipped.IsPresent))
            WriteObject(candidate);
    }
}
