using System.Collections.Concurrent;

namespace PartitionOps.PowerShell.Infrastructure;

/// <summary>
/// Lets async engine work report back on the pipeline thread. WriteObject/WriteProgress/WriteVerbose
/// only work on the thread that called ProcessRecord, while engine callbacks (IProgress, loggers)
/// arrive on pool threads: they post here, and <see cref="Run{T}"/> drains the queue on the
/// pipeline thread until the work completes.
/// </summary>
public sealed class PipelineDispatcher
{
    private readonly BlockingCollection<Action> _queue = new();
    private int _pipelineThreadId = Environment.CurrentManagedThreadId;

    /// <summary>Runs now when called on the pipeline thread, otherwise at the next drain.</summary>
    public void Post(Action action)
    {
        if (Environment.CurrentManagedThreadId == _pipelineThreadId) action();
        else _queue.Add(action);
    }

    /// <summary>Starts <paramref name="work"/> and pumps posted actions until it finishes; rethrows its exception.</summary>
    public T Run<T>(Func<Task<T>> work)
    {
        _pipelineThreadId = Environment.CurrentManagedThreadId;
        var task = work();
        while (!task.IsCompleted)
        {
            if (_queue.TryTake(out var action, 50)) action();
        }
        while (_queue.TryTake(out var action)) action();
        return task.GetAwaiter().GetResult();
    }
}
