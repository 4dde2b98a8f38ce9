namespace PartitionOps.Engine.Providers;

/// <summary>How the engine reacts to a database error.</summary>
public enum ErrorKind
{
    /// <summary>Could not get a lock in time: wait and retry the same unit of work.</summary>
    LockTimeout,
    /// <summary>Chosen as deadlock victim: the transaction rolled back whole; retry.</summary>
    Deadlock,
    /// <summary>Connection dropped, failover, throttled by the service: reconnect and retry.</summary>
    Transient,
    /// <summary>The operation was cancelled by us (Ctrl+C, --max-duration).</summary>
    Canceled,
    /// <summary>Anything else: retrying will not help.</summary>
    Permanent,
}

public interface IErrorClassifier
{
    ErrorKind Classify(Exception exception);
}

public static class ErrorKindExtensions
{
    public static bool IsRetryable(this ErrorKind kind) =>
        kind is ErrorKind.LockTimeout or ErrorKind.Deadlock or ErrorKind.Transient;
}
