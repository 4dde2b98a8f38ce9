using System.Management.Automation;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.PowerShell;

/// <summary>
/// What every PartitionOps cmdlet shares: -EnableException, a cancellation token cancelled by Ctrl+C
/// (StopProcessing), exception to ErrorRecord mapping with secrets scrubbed, running async engine work
/// with progress on the pipeline thread, and ShouldProcess over a plan's SQL. Cmdlets that need no
/// database (pure planners, file parsers) derive from this; database cmdlets from <see cref="PartitionOpsCmdlet"/>.
/// </summary>
public abstract class PartitionOpsCmdletBase : PSCmdlet, IDisposable
{
    private CancellationTokenSource? _cancellation;

    /// <summary>dbatools style: throw terminating errors instead of writing non-terminating ones.</summary>
    [Parameter]
    public SwitchParameter EnableException { get; set; }

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops; pass it to every engine call.</summary>
    protected CancellationToken CancellationToken => (_cancellation ??= new CancellationTokenSource()).Token;

    /// <summary>Runs engine callbacks (progress, log) on the pipeline thread; see <see cref="Run{T}"/>.</summary>
    protected PipelineDispatcher Dispatcher { get; } = new();

    protected override void BeginProcessing()
    {
        // PSResourceGet's pattern: one source per invocation, cancelled by StopProcessing.
        _cancellation ??= new CancellationTokenSource();
    }

    protected override void StopProcessing() => _cancellation?.Cancel();

    /// <summary>PowerShell disposes cmdlets that implement IDisposable when the pipeline ends.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _cancellation?.Dispose();
    }

    /// <summary>Secrets to keep out of every message this cmdlet writes (the connection's password and token).</summary>
    protected virtual IReadOnlyList<string> Secrets => [];

    /// <summary>The provider in use, when known, so its error classifier can recognise connection faults.</summary>
    protected virtual IDatabaseProvider? CurrentProvider => null;

    /// <summary>
    /// Runs engine work: async work is awaited while posted callbacks run on the pipeline thread;
    /// any exception becomes an ErrorRecord (terminating with -EnableException). Returns default on failure.
    /// </summary>
    protected T? Run<T>(object? targetObject, Func<CancellationToken, Task<T>> work, string? errorId = null)
    {
        try
        {
            return Dispatcher.Run(() => work(CancellationToken));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteFailure(e, targetObject, errorId);
            return default;
        }
    }

    /// <summary>For work without a result; true when it completed.</summary>
    protected bool Run(object? targetObject, Func<CancellationToken, Task> work, string? errorId = null) =>
        Run(targetObject, async ct => { await work(ct).ConfigureAwait(false); return true; }, errorId);

    /// <summary>Synchronous variant of <see cref="Run{T}"/> (a separate name: an async lambda must never bind here).</summary>
    protected T? RunSync<T>(object? targetObject, Func<CancellationToken, T> work, string? errorId = null) =>
        Run(targetObject, ct => Task.FromResult(work(ct)), errorId);

    /// <summary>An IProgress whose reports run on the pipeline thread (e.g. WriteProgress) while <see cref="Run{T}"/> pumps.</summary>
    protected IProgress<TReport> CreateProgress<TReport>(Action<TReport> onPipelineThread) =>
        new DispatcherProgress<TReport>(Dispatcher, onPipelineThread);

    /// <summary>WriteVerbose with secrets scrubbed; safe to call from engine callbacks on any thread.</summary>
    protected void WriteVerboseSafe(string message)
    {
        var text = Scrub(message);
        Dispatcher.Post(() => WriteVerbose(text));
    }

    /// <summary>WriteObject from any thread: results streamed by engine work while <see cref="Run{T}"/> pumps.</summary>
    protected void WriteObjectSafe(object? value) => Dispatcher.Post(() => WriteObject(value));

    /// <summary>The text with this cmdlet's secrets (password, token) replaced by ***.</summary>
    protected string Scrub(string text) => ErrorMapping.Scrub(text, Secrets);

    /// <summary>dbatools' -EnableException contract: terminating when set, otherwise WriteError and carry on.</summary>
    protected void WriteFailure(Exception exception, object? targetObject, string? errorId = null)
    {
        var record = CreateErrorRecord(exception, targetObject, errorId);
        if (EnableException) ThrowTerminatingError(record);
        else WriteError(record);
    }

    protected ErrorRecord CreateErrorRecord(Exception exception, object? targetObject, string? errorId = null)
    {
        var (category, id) = ErrorMapping.Classify(exception, CurrentProvider);
        var safe = ErrorMapping.Sanitize(exception, Secrets);
        // A connection string as target would print its password: show the redacted form instead.
        var target = targetObject is string s ? Scrub(s) : targetObject;
        return new ErrorRecord(safe, errorId ?? id, category, target);
    }

    /// <summary>
    /// ShouldProcess with the plan as the action text: -WhatIf prints what will happen (<paramref name="summary"/>:
    /// phases, types, tables), the statement count and the SQL with per-partition repeats counted; -Confirm asks with
    /// the same; -Verbose also prints every statement. Callable from inside <see cref="Run{T}"/> work (e.g. once per
    /// merge action). <paramref name="target"/> is what the plan changes, e.g. a table plus the connection's DisplayName.
    /// </summary>
    protected bool ShouldProcessPlan(
        string target, string operation, IReadOnlyList<SqlStatement> plan, IReadOnlyList<string>? summary = null)
    {
        var description = Scrub(PlanText.Describe(target, operation, plan, summary));
        var warning = Scrub(PlanText.ConfirmQuestion(target, operation, plan, summary));
        var full = PlanText.IsShortened(plan)
            ? Scrub($"{operation} on {target}, every statement:{Environment.NewLine}{PlanText.Sql(plan)}")
            : null;
        // ShouldProcess must run on the pipeline thread; engine work may ask from a pool thread.
        return Dispatcher.Invoke(() =>
        {
            // With -WhatIf the full SQL is what -Verbose adds; a real run's verbose output (a runbook's job) stays short.
            if (full != null && WhatIfInEffect()) WriteVerbose(full);
            return ShouldProcess(description, warning, operation);
        });
    }

    /// <summary>-WhatIf given to this cmdlet, or $WhatIfPreference set by the caller.</summary>
    private bool WhatIfInEffect() =>
        (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf) && whatIf is SwitchParameter { IsPresent: true })
        || LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    private sealed class DispatcherProgress<TReport>(PipelineDispatcher dispatcher, Action<TReport> handler) : IProgress<TReport>
    {
        public void Report(TReport value) => dispatcher.Post(() => handler(value));
    }
}
