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
    private volatile bool _pumping;

    public bool IsPipelineThread => Environment.CurrentManagedThreadId == _pipelineThreadId;

    /// <summary>Runs now when called on the pipeline thread, otherwise at the next drain.</summary>
    public void Post(Action action)
    {
        if (IsPipelineThread) action();
        else _queue.Add(action);
    }

    /// <summary>
    /// Runs <paramref name="func"/> on the pipeline thread and waits for its result, e.g. ShouldProcess
    /// asked from inside engine work. From another thread this only works while <see cref="Run{T}"/> pumps.
    /// </summary>
    public T Invoke<T>(Func<T> func)
    {
        if (IsPipelineThread) return func();
        if (!_pumping) throw new InvalidOperationException("The pipeline thread can only be reached from engine work running under Run.");
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add(() =>
        {
            try { result.SetResult(func()); }
            catch (Exception e) { result.SetException(e); }
        });
        return result.Task.GetAwaiter().GetResult();
    }

    /// <summary>Starts <paramref name="work"/> and pumps posted actions until it finishes; rethrows its exception.</summary>
    public T Run<T>(Func<Task<T>> work)
    {
        _pipelineThreadId = Environment.CurrentManagedThreadId;
        _pumping = true;
        try
        {
            var task = work();
            while (!task.IsCompleted)
            {
                if (_queue.TryTake(out var action, 50)) action();
            }
            while (_queue.TryTake(out var action)) action();
            return task.GetAwaiter().GetResult();
        }
        finally
        {
            _pumping = false;
        }
    }
}
