using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.PowerShell.Ilm;

/// <summary>
/// Base of the ILM cmdlets: -ControlSchema, the parameters as a host-free <see cref="IlmParameters"/> (mapped by
/// <see cref="IlmMapping"/>), engine calls whose bad-input errors name the cmdlet parameters, and the -WhatIf
/// target text. Each derived cmdlet declares its own -Table (mandatory or not) and other parameters.
/// </summary>
public abstract class IlmCmdlet : PartitionOpsCmdlet
{
    private string? _policyPath;

    /// <summary>Schema of PartitionOps' control tables; default partitionops (PostgreSQL), the connected user (Oracle).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ControlSchema { get; set; }

    /// <summary>The -Policy of this cmdlet, if it has one (a path as given; resolved against PowerShell's location per record).</summary>
    protected virtual string? PolicyParameter => null;

    /// <summary>
    /// The -Policy path resolved against the current PowerShell location (set per record in <see cref="ResolvePolicyPath"/>).
    /// </summary>
    protected string? PolicyPath => _policyPath ?? (string.IsNullOrWhiteSpace(PolicyParameter) ? null : PolicyParameter);

    /// <summary>Parameters of this invocation (the current pipeline record), host-free.</summary>
    protected internal virtual IlmParameters GetParameters() => new() { ControlSchema = ControlSchema, Policy = PolicyPath };

    /// <summary>A relative -Policy is relative to PowerShell's location, not the process's directory.</summary>
    protected void ResolvePolicyPath()
    {
        var path = PolicyParameter;
        _policyPath = string.IsNullOrWhiteSpace(path) ? null : GetUnresolvedProviderPathFromPSPath(path);
    }

    protected override void ProcessRecord()
    {
        if (RunSync(ErrorTarget, _ => { ResolvePolicyPath(); return ResolveConnection(); }) is null) return;
        ProcessIlm();
    }

    /// <summary>Does the work for the current record (one table, or the whole control schema).</summary>
    protected abstract void ProcessIlm();

    /// <summary>Bad-input errors name the cmdlet parameters (-MaxMerges, not --max-merges).</summary>
    protected override InvalidRequestException TranslateError(InvalidRequestException e) => IlmMapping.Translate(e);

    /// <summary>WriteWarning with secrets scrubbed; safe from engine callbacks on any thread.</summary>
    protected void WriteWarningSafe(string message)
    {
        var text = Scrub(message);
        Dispatcher.Post(() => WriteWarning(text));
    }

    /// <summary>The first lines of -WhatIf / -Confirm: the table and one line per action, with its statement count.</summary>
    public static IReadOnlyList<string> PlanSummary(IlmPlanResult plan)
    {
        const int actionsShown = 20;
        var actions = $"{plan.Steps.Count} action{(plan.Steps.Count == 1 ? "" : "s")}";
        var lines = new List<string> { $"table: {TableName(plan)}, {actions}" };
        lines.AddRange(plan.Steps.Take(actionsShown).Select(s => $"{s.Describe()} ({s.Statements.Count} statements)"));
        if (plan.Steps.Count > actionsShown) lines.Add($"and {plan.Steps.Count - actionsShown} more actions");
        return lines;
    }

    /// <summary>
    /// What a run executes, in order: the session's lock timeout, then every action's statements; empty when there is
    /// nothing to do.
    /// </summary>
    public static IReadOnlyList<SqlStatement> PlanStatements(IlmPlanResult plan) =>
        plan.Steps.Count == 0 ? [] : [.. plan.SessionSetup, .. plan.Steps.SelectMany(s => s.Statements)];

    /// <summary>schema.table of a plan, as progress bars and -WhatIf name it.</summary>
    protected static string TableName(IlmPlanResult plan) => $"{plan.Layout.Schema}.{plan.Layout.Table}";

    /// <summary>
    /// A run of <paramref name="request"/> through <see cref="PartitionOpsCmdlet.PlanThenRunAsync{TPlan, TResult}"/>: its dry run is
    /// the plan -WhatIf prints and -Confirm asks about; the real run reports one progress bar per table. Null: nothing ran.
    /// </summary>
    protected Task<IlmRunResult?> PlanThenRunAsync(IlmService service, IlmRunRequest request, string operation, CancellationToken ct) =>
        PlanThenRunAsync(
            operation,
            c => service.RunAsync(request with { DryRun = true }, null, c),
            planned => new PlanPreview(TableName(planned.Plan), PlanStatements(planned.Plan), PlanSummary(planned.Plan)),
            (planned, c) => service.RunAsync(request, CreateIlmProgress(TableName(planned.Plan)), c),
            ct);

    /// <summary>-AsOf as bound: PowerShell may hand a PSObject around the DateTime or string.</summary>
    protected static object? Unwrap(object? value) => value is PSObject pso ? pso.BaseObject : value;

    /// <summary>One progress bar per table: which action of how many is running.</summary>
    protected IProgress<IlmProgress> CreateIlmProgress(string table) => CreateProgress<IlmProgress>(p =>
    {
        // After Ctrl+C the pipeline refuses writes; the engine finishes the running action.
        if (CancellationToken.IsCancellationRequested) return;
        var done = p.Outcome != null;
        WriteProgress(new ProgressRecord(1, $"ILM {table}", $"{p.Index}/{p.Count} {p.Action.Describe()}: {p.Stage}")
        {
            PercentComplete = p.Count == 0 ? 100 : Math.Min(100, (p.Index - (done ? 0 : 1)) * 100 / p.Count),
            RecordType = done && p.Index == p.Count ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });
        if (done) WriteVerbose(Scrub($"{p.Action.Describe()}: {p.Outcome!.Status}"
            + (p.Outcome.Error is null ? "" : $" ({p.Outcome.Error})")));
    });

    /// <summary>Reports a run: reconciled merges as verbose text, a time-boxed stop as a warning, failed actions as one error.</summary>
    protected void ReportRun(IlmRunResult run, string operation)
    {
        var table = $"{run.Plan.Layout.Schema}.{run.Plan.Layout.Table}";
        foreach (var r in run.Reconciled)
            WriteVerbose(Scrub($"{table}: interrupted merge into {r.TargetPartition} reconciled ({r.Outcome}): {r.Message}"));
        if (run.StoppedEarly)
            WriteWarning($"{table}: -MaxDuration reached; {run.NotStarted.Count} action(s) not started (Status NOT_STARTED): the next " +
                $"run does them.");
        if (run.Failed > 0)
        {
            var failed = run.Outcomes.Where(o => o.Status == IlmStatus.Failed).Select(o => $"{o.Action.Describe()}: {o.Error}");
            WriteFailure(new PartitionOpsException(Scrub($"{operation} on {table}: {run.Failed} of {run.Outcomes.Count} action(s) " +
                $"failed: {string.Join("; ", failed)}")), ErrorTarget);
        }
    }
}
