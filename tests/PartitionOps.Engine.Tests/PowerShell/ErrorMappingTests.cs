using System.Management.Automation;
using System.Net.Sockets;
using Npgsql;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.PowerShell.Connection;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.Engine.Tests.PowerShell;

public class ErrorMappingTests
{
    [Fact]
    public void Bad_input_is_InvalidArgument() =>
        Assert.Equal((ErrorCategory.InvalidArgument, "InvalidRequest"),
            ErrorMapping.Classify(new InvalidRequestException("-Table", "x", "is bad")));

    [Fact]
    public void Cancellation_is_OperationStopped()
    {
        Assert.Equal(ErrorCategory.OperationStopped, ErrorMapping.Classify(new OperationCanceledException()).Category);
        Assert.Equal(ErrorCategory.OperationStopped, ErrorMapping.Classify(new TaskCanceledException()).Category);
        Assert.Equal(ErrorCategory.OperationStopped,
            ErrorMapping.Classify(new PartitionOpsException("batch stopped", new OperationCanceledException())).Category);
        Assert.Equal("OperationStopped", ErrorMapping.Classify(new AggregateException(new OperationCanceledException())).ErrorId);
    }

    [Fact]
    public void Connection_failures_are_ConnectionError()
    {
        Assert.Equal((ErrorCategory.ConnectionError, "ConnectionFailed"),
            ErrorMapping.Classify(new ConnectionFailedException("could not connect to postgresql at Host=x: refused")));
        Assert.Equal(ErrorCategory.ConnectionError,
            ErrorMapping.Classify(new InvalidOperationException("x", new SocketException(111))).Category);
        Assert.Equal(ErrorCategory.ConnectionError,
            ErrorMapping.Classify(new NpgsqlException("broken", new TimeoutException()), PostgreSqlProvider.Instance).Category);
    }

    [Fact]
    public async Task An_unreachable_server_is_ConnectionError_without_the_password()
    {
        var connection = ConnectionMapping.ToConnection(new ConnectionRequest
        {
            ConnectionString = "Host=127.0.0.1;Port=1;Username=po;Password=Sup3rSecretPw;Timeout=3", Provider = "postgresql",
        });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => connection.Target.OpenAsync(CancellationToken.None));
        Assert.Equal(ErrorCategory.ConnectionError, ErrorMapping.Classify(e, connection.Target.Provider).Category);
        var safe = ErrorMapping.Sanitize(e, connection.Secrets);
        for (var x = safe; x != null; x = x.InnerException) Assert.DoesNotContain("Sup3rSecretPw", x.Message);
    }

    [Fact]
    public void Other_failures_are_InvalidOperation()
    {
        Assert.Equal((ErrorCategory.InvalidOperation, "OperationFailed"), ErrorMapping.Classify(new PartitionOpsException("merge failed")));
        Assert.Equal(ErrorCategory.InvalidOperation, ErrorMapping.Classify(new InvalidOperationException("boom")).Category);
    }

    [Fact]
    public void Sanitize_replaces_exceptions_that_carry_a_secret()
    {
        var clean = new PartitionOpsException("merge failed");
        Assert.Same(clean, ErrorMapping.Sanitize(clean, ["Sup3rSecretPw"]));

        var leaky = new PartitionOpsException("failed", new Exception("login with Sup3rSecretPw failed"));
        var safe = ErrorMapping.Sanitize(leaky, ["Sup3rSecretPw"]);
        Assert.Null(safe.InnerException);
        Assert.DoesNotContain("Sup3rSecretPw", safe.Message);

        var bad = ErrorMapping.Sanitize(new InvalidRequestException("-ConnectionString", "Password=Sup3rSecretPw", "is bad"),
            ["Sup3rSecretPw"]);
        Assert.IsType<ArgumentException>(bad);
        Assert.Contains("Password=***", bad.Message);
    }

    [Fact]
    public void Wrappers_are_unwrapped()
    {
        var inner = new PartitionOpsException("x");
        Assert.Same(inner, ErrorMapping.Unwrap(new AggregateException(inner)));
        Assert.Same(inner, ErrorMapping.Unwrap(new System.Reflection.TargetInvocationException(new AggregateException(inner))));
    }
}
