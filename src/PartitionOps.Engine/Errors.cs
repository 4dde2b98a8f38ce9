namespace PartitionOps.Engine;

/// <summary>
/// Bad input: a name, value or option that cannot be accepted. Raised before anything is changed,
/// so front ends map it to exit code 2 / ErrorCategory.InvalidArgument.
/// </summary>
public sealed class InvalidRequestException : Exception
{
    public InvalidRequestException(string parameter, object? value, string problem)
        : base($"{parameter} '{value}' {problem}")
    {
        Parameter = parameter;
        Value = value;
        Problem = problem;
    }

    /// <summary>
    /// The option or parameter that carried the bad value (e.g. "--table", "table"): the key a front end maps to
    /// its own name (PowerShell: "--batch-size" -> "-BatchSize").
    /// </summary>
    public string Parameter { get; }

    public object? Value { get; }

    /// <summary>What is wrong with the value, without the parameter and value ("must be positive"), so a
    /// front end can name its own parameter without taking the message apart.</summary>
    public string Problem { get; }
}

/// <summary>An operation that was valid but failed (exit code 1).</summary>
public class PartitionOpsException : Exception
{
    public PartitionOpsException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The server could not be reached or refused the login (exit code 1, ErrorCategory.ConnectionError).</summary>
public sealed class ConnectionFailedException : PartitionOpsException
{
    public ConnectionFailedException(string message, Exception? inner = null) : base(message, inner) { }
}
