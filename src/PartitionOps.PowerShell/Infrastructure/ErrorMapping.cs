using System.Management.Automation;
using System.Net.Sockets;
using System.Reflection;
using PartitionOps.Engine;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Infrastructure;

/// <summary>
/// Exceptions to ErrorRecord parts: category, error id and a message scrubbed of secrets.
/// Host-free so that xunit covers it; the cmdlet base class only assembles the ErrorRecord.
/// </summary>
public static class ErrorMapping
{
    public const string InvalidRequestId = "InvalidRequest";
    public const string OperationStoppedId = "OperationStopped";
    public const string ConnectionFailedId = "ConnectionFailed";
    public const string OperationFailedId = "OperationFailed";

    public static (ErrorCategory Category, string ErrorId) Classify(Exception exception, IDatabaseProvider? provider = null)
    {
        var e = Unwrap(exception);
        if (e is InvalidRequestException) return (ErrorCategory.InvalidArgument, InvalidRequestId);
        if (Chain(e).Any(x => x is OperationCanceledException)) return (ErrorCategory.OperationStopped, OperationStoppedId);
        if (IsConnectionFailure(e, provider)) return (ErrorCategory.ConnectionError, ConnectionFailedId);
        return (ErrorCategory.InvalidOperation, OperationFailedId);
    }

    /// <summary>DatabaseTarget.OpenAsync throws ConnectionFailedException; a socket error or a transient fault counts too.</summary>
    public static bool IsConnectionFailure(Exception exception, IDatabaseProvider? provider = null)
    {
        foreach (var e in Chain(exception))
        {
            if (e is SocketException) return true;
            if (e is ConnectionFailedException) return true;
        }
        return provider?.Errors.Classify(exception) == ErrorKind.Transient;
    }

    /// <summary>
    /// The exception to put in the ErrorRecord. When any message in the chain carries a secret, a
    /// replacement with the scrubbed message and no inner exception (which could carry it too).
    /// </summary>
    public static Exception Sanitize(Exception exception, IReadOnlyCollection<string> secrets)
    {
        var e = Unwrap(exception);
        if (!Chain(e).Any(x => ContainsSecret(x.Message, secrets))) return e;
        var message = Scrub(e.Message, secrets);
        return e switch
        {
            InvalidRequestException => new ArgumentException(message),
            OperationCanceledException => new OperationCanceledException(message),
            _ => new PartitionOpsException(message),
        };
    }

    public static string Scrub(string? text, IReadOnlyCollection<string> secrets)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        foreach (var secret in secrets.Where(s => !string.IsNullOrEmpty(s)).OrderByDescending(s => s.Length))
            text = text.Replace(secret, "***", StringComparison.Ordinal);
        return text;
    }

    public static bool ContainsSecret(string? text, IReadOnlyCollection<string> secrets) =>
        !string.IsNullOrEmpty(text) && secrets.Any(s => !string.IsNullOrEmpty(s) && text.Contains(s, StringComparison.Ordinal));

    /// <summary>Task and reflection wrappers say nothing: report what they wrap.</summary>
    public static Exception Unwrap(Exception exception)
    {
        var e = exception;
        while (true)
        {
            if (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
            else if (e is TargetInvocationException { InnerException: { } inner }) e = inner;
            else return e;
        }
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException) yield return e;
    }
}
