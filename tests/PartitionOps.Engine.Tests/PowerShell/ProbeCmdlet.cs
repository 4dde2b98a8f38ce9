using System.Management.Automation;
using PartitionOps.PowerShell;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// A cmdlet shaped like a future engine cmdlet, defined in the test assembly (the convention tests
/// scan only the module's assembly). It opens the base class's protected members to tests.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PartitionOpsProbe", DefaultParameterSetName = ConnectionSet, SupportsShouldProcess = true)]
[OutputType(typeof(string))]
public sealed class ProbeCmdlet : PartitionOpsCmdlet
{
    public void Begin() => BeginProcessing();
    public void Stop() => StopProcessing();
    public CancellationToken Token => CancellationToken;
    public string ScrubText(string text) => Scrub(text);
    public IReadOnlyList<string> SecretList => Secrets;
    public ErrorRecord Record(Exception e, object? target) => CreateErrorRecord(e, target);
    public PartitionOpsConnection Resolve() => ResolveConnection();
    public PartitionOps.Engine.Providers.DatabaseTarget CurrentTarget => Target;
    public PartitionOps.PowerShell.Infrastructure.PipelineDispatcher PipelineDispatcher => Dispatcher;
    public T? RunWork<T>(Func<CancellationToken, Task<T>> work) => Run("probe", work);
    public bool RunAction(Func<CancellationToken, Task> work) => Run("probe", work);
    public IProgress<int> Progress(Action<int> handler) => CreateProgress(handler);
}
