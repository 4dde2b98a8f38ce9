using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.PowerShell;

/// <summary>
/// Base of every cmdlet that works on a database: adds -Connection (an object from
/// New-PartitionOpsConnection, bindable by property name from the pipeline) to the connection sets.
/// Declare <c>DefaultParameterSetName = ConnectionSet</c> on the derived [Cmdlet] so that a connection
/// arriving through the pipeline is never pre-empted by a prompt for -SqlInstance.
/// </summary>
public abstract class PartitionOpsCmdlet : PartitionOpsConnectionCmdletBase
{
    [Parameter(Mandatory = true, ParameterSetName = ConnectionSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public PartitionOpsConnection? Connection { get; set; }

    /// <summary>Where the engine should work; for -Connection it follows each pipeline record.</summary>
    protected DatabaseTarget Target => ResolveConnection().Target;

    protected internal override ConnectionRequest GetConnectionRequest()
    {
        var request = base.GetConnectionRequest();
        if (Connection is null) return request;
        // -Connection carries everything; the other sets' defaults (Provider) must not leak in.
        return new ConnectionRequest { Connection = Connection };
    }

    protected internal override PartitionOpsConnection ResolveConnection() =>
        Connection ?? base.ResolveConnection();

    protected override IDatabaseProvider? CurrentProvider => Connection?.Target.Provider ?? base.CurrentProvider;

    /// <summary>What errors name as their target: the connection, never a raw connection string.</summary>
    protected object? ErrorTarget => (object?)Connection ?? SqlInstance ?? ConnectionStrings.Redact(ConnectionString);

    /// <summary>
    /// An engine bad-input error (keyed by request property names) as one naming this cmdlet's parameters; the backfill
    /// and ILM bases map through their mapping class. Unchanged by default.
    /// </summary>
    protected virtual InvalidRequestException TranslateError(InvalidRequestException e) => e;

    /// <summary>
    /// <see cref="PartitionOpsCmdletBase.Run{T}"/> on <see cref="ErrorTarget"/> whose bad-input errors name the cmdlet
    /// parameters (-BatchSize, not the engine's BatchSize key).
    /// </summary>
    protected T? RunEngine<T>(Func<CancellationToken, Task<T>> work) =>
        Run(ErrorTarget, async ct =>
        {
            try { return await work(ct).ConfigureAwait(false); }
            catch (InvalidRequestException e) { throw TranslateError(e); }
        });

    /// <summary>The target of -WhatIf / -Confirm: what changes (a table) and where it lives, without secrets.</summary>
    protected string DescribeTarget(string what)
    {
        var c = ResolveConnection();
        var where = c.Server is null ? c.Provider : $"{c.Provider} {c.Server}" + (c.Database is null ? "" : "/" + c.Database);
        return $"{what} ({where})";
    }

    /// <summary>
    /// The state-changing sequence, for work inside <see cref="RunEngine{T}"/>: <paramref name="plan"/> (a dry run:
    /// catalog reads only), <see cref="PartitionOpsCmdletBase.ShouldProcessPlan"/> over its <paramref name="preview"/>
    /// (-WhatIf prints it, -Confirm asks with it), then <paramref name="run"/>. Null when -WhatIf is given or the
    /// user declines: nothing ran.
    /// </summary>
    protected async Task<TResult?> PlanThenRunAsync<TPlan, TResult>(
        string operation,
        Func<CancellationToken, Task<TPlan>> plan,
        Func<TPlan, PlanPreview> preview,
        Func<TPlan, CancellationToken, Task<TResult>> run,
        CancellationToken ct)
        where TResult : class
    {
        var planned = await plan(ct).ConfigureAwait(false);
        var shown = preview(planned);
        if (!ShouldProcessPlan(DescribeTarget(shown.Target), operation, shown.Statements, shown.Summary)) return null;
        return await run(planned, ct).ConfigureAwait(false);
    }
}
