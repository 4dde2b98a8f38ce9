using System.Reflection;
using Microsoft.Data.SqlClient;
using Npgsql;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Providers;

/// <summary>Lock timeout, deadlock, transient, permanent: how each provider's errors steer the engine's retries.</summary>
public sealed class ErrorClassifierTests
{
    // ---------------------------------------------------------------- PostgreSQL (PostgresException has a public constructor)

    private static PostgresException Pg(string sqlState) => new("message", "ERROR", "ERROR", sqlState);

    [Theory]
    [InlineData("55P03", ErrorKind.LockTimeout)]   // lock_not_available: lock_timeout
    [InlineData("40P01", ErrorKind.Deadlock)]      // deadlock_detected
    [InlineData("40001", ErrorKind.Deadlock)]      // serialization_failure: the transaction retries whole
    [InlineData("57014", ErrorKind.Canceled)]      // query_canceled
    [InlineData("57P01", ErrorKind.Transient)]     // admin_shutdown (pg_terminate_backend, failover)
    [InlineData("53300", ErrorKind.Transient)]     // too_many_connections
    [InlineData("08006", ErrorKind.Transient)]     // connection_failure
    [InlineData("23505", ErrorKind.Permanent)]     // unique_violation
    [InlineData("P0001", ErrorKind.Permanent)]     // raise_exception (a trigger refusing the update)
    [InlineData("42501", ErrorKind.Permanent)]     // insufficient_privilege
    public void PostgreSql_errors_by_SQLSTATE(string sqlState, ErrorKind expected) =>
        Assert.Equal(expected, new PostgreSqlErrorClassifier().Classify(Pg(sqlState)));

    [Fact]
    public void PostgreSql_wrapped_errors_network_faults_and_cancellation()
    {
        var classifier = new PostgreSqlErrorClassifier();
        Assert.Equal(ErrorKind.LockTimeout, classifier.Classify(new InvalidOperationException("outer", Pg("55P03"))));
        Assert.Equal(ErrorKind.Transient, classifier.Classify(new NpgsqlException("broken", new System.IO.IOException("reset by peer"))));
        Assert.Equal(ErrorKind.Permanent, classifier.Classify(new NpgsqlException("no")));
        Assert.Equal(ErrorKind.Canceled, classifier.Classify(new OperationCanceledException()));
        Assert.Equal(ErrorKind.Permanent, classifier.Classify(new InvalidOperationException("not a database error")));
    }

    // ---------------------------------------------------------------- SQL Server

    [Theory]
    [InlineData(1222, ErrorKind.LockTimeout)]  // Lock request time out period exceeded
    [InlineData(1205, ErrorKind.Deadlock)]     // chosen as deadlock victim
    [InlineData(-2, ErrorKind.Transient)]      // client timeout
    [InlineData(40613, ErrorKind.Transient)]   // Azure: database not currently available
    [InlineData(40501, ErrorKind.Transient)]   // Azure: service busy
    [InlineData(10054, ErrorKind.Transient)]   // connection reset
    [InlineData(4060, ErrorKind.Transient)]    // cannot open database (failover)
    [InlineData(547, ErrorKind.Permanent)]     // constraint conflict
    [InlineData(2627, ErrorKind.Permanent)]    // unique key violation
    [InlineData(229, ErrorKind.Permanent)]     // permission denied
    public void SqlServer_errors_by_number(int number, ErrorKind expected) =>
        Assert.Equal(expected, SqlServerErrorClassifier.ClassifyError(number, "message"));

    [Fact]
    public void SqlServer_number_0_is_a_cancellation_only_when_it_says_so()
    {
        Assert.Equal(ErrorKind.Canceled, SqlServerErrorClassifier.ClassifyError(0, "Operation cancelled by user."));
        Assert.Equal(ErrorKind.Permanent, SqlServerErrorClassifier.ClassifyError(0, "something else"));
    }

    /// <summary>
    /// A real SqlException, built the way SqlClient builds one (internal constructors, by reflection): checks that
    /// Classify reads the numbers of its errors, the first one that says more than "permanent" deciding.
    /// </summary>
    [Fact]
    public void SqlServer_exceptions_are_classified_by_their_errors()
    {
        var classifier = new SqlServerErrorClassifier();
        Assert.Equal(ErrorKind.LockTimeout, classifier.Classify(SqlExceptionWith(1222)));
        Assert.Equal(ErrorKind.Deadlock, classifier.Classify(SqlExceptionWith(3621, 1205)));
        Assert.Equal(ErrorKind.Transient, classifier.Classify(new InvalidOperationException("outer", SqlExceptionWith(40613))));
        Assert.Equal(ErrorKind.Permanent, classifier.Classify(SqlExceptionWith(547, 3621)));
        Assert.Equal(ErrorKind.Canceled, classifier.Classify(new TaskCanceledException()));
    }

    private static SqlException SqlExceptionWith(params int[] numbers)
    {
        const BindingFlags any = BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static;
        var collection = (SqlErrorCollection)Activator.CreateInstance(typeof(SqlErrorCollection), nonPublic: true)!;
        var add = typeof(SqlErrorCollection).GetMethod("Add", any)!;
        foreach (var number in numbers)
        {
            var ctor = typeof(SqlError).GetConstructors(any).OrderByDescending(c => c.GetParameters().Length).First();
            var args = ctor.GetParameters().Select(p => p.Name switch
            {
                "infoNumber" => number,
                "errorMessage" => $"error {number}",
                _ => p.ParameterType == typeof(string) ? "x" : p.ParameterType.IsValueType ? Activator.CreateInstance(
                    p.ParameterType) : null,
            }).ToArray();
            add.Invoke(collection, [ctor.Invoke(args)]);
        }
        var create = typeof(SqlException).GetMethods(any).Where(m => m.Name == "CreateException")
            .OrderBy(m => m.GetParameters().Length).First(m => m.GetParameters()[0].ParameterType == typeof(SqlErrorCollection));
        var createArgs = create.GetParameters()
            .Select((p, i) => i == 0 ? collection : p.ParameterType == typeof(string) ? (object?)"15.0" : null).ToArray();
        return (SqlException)create.Invoke(null, createArgs)!;
    }
}
