using System.Data.Common;
using Microsoft.Data.SqlClient;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;

namespace PartitionOps.Engine.Providers.SqlServer;

public sealed class SqlServerProvider : IDatabaseProvider
{
    public static readonly SqlServerProvider Instance = new();

    public DatabaseKind Kind => DatabaseKind.SqlServer;
    public string Name => "sqlserver";
    public string DefaultSchema => "dbo";
    public string DefaultControlSchema => "partitionops";
    public IErrorClassifier Errors { get; } = new SqlServerErrorClassifier();

    public string Quote(string identifier) => Identifier.Quote(identifier, '[', ']');
    public string ParameterMarker(string name) => "@" + name;

    // https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.clearpool
    public void ClearPool(DbConnection broken) { if (broken is SqlConnection c) SqlConnection.ClearPool(c); }

    public DbConnection CreateConnection(string connectionString, string? accessToken = null)
    {
        SqlConnectionStringBuilder builder;
        try { builder = new SqlConnectionStringBuilder(connectionString); }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FormatException or InvalidCastException
                                       or OverflowException)
        {
            throw new InvalidRequestException(nameof(DatabaseTarget.ConnectionString), ConnectionStrings.Redact(connectionString, this),
                "is not a valid SQL Server connection string: " + ConnectionStrings.RefusalReason(e, connectionString, this));
        }
        if (string.IsNullOrEmpty(builder.ApplicationName) || builder.ApplicationName == ".Net SqlClient Data Provider")
            builder.ApplicationName = "partitionops";
        var connection = new SqlConnection(builder.ConnectionString);
        if (accessToken != null) connection.AccessToken = accessToken;
        return connection;
    }

    /// <summary>SqlClient's builder maps its aliases (PWD) to Password: set the key to a probe and see whether Password took it.</summary>
    public bool IsSecretKey(string key)
    {
        const string probe = "partitionops-probe";
        try
        {
            var builder = new SqlConnectionStringBuilder { [key] = probe };
            return builder.Password == probe;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException)
        {
            return false;
        }
    }

    public IBackfillDialect? Backfill { get; } = new SqlServerBackfillDialect();
    public IIlmDialect? Ilm => null;
}

/// <summary>
/// Error numbers: 1222 lock request time out, 1205 deadlock victim; the transient list is the one
/// Azure SQL documents for retry logic (learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-connectivity-issues).
/// </summary>
public sealed class SqlServerErrorClassifier : IErrorClassifier
{
    private static readonly HashSet<int> TransientNumbers =
        [
            -2, 20, 64, 233, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501, 40540, 40613, 42108, 42109,
            49918, 49919, 49920,
        ];

    public ErrorKind Classify(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException)
        {
            if (e is OperationCanceledException) return ErrorKind.Canceled;
            if (e is SqlException sql)
            {
                foreach (SqlError error in sql.Errors)
                    if (ClassifyError(error.Number, error.Message) is var kind and not ErrorKind.Permanent) return kind;
                return ErrorKind.Permanent;
            }
        }
        return ErrorKind.Permanent;
    }

    /// <summary>One error of a SqlException by its number (and, for number 0, its text): the whole classification,
    /// testable without constructing a SqlException (it has no public constructor).</summary>
    public static ErrorKind ClassifyError(int number, string message) => number switch
    {
        1222 => ErrorKind.LockTimeout,
        1205 => ErrorKind.Deadlock,
        0 when message.Contains("cancelled by user", StringComparison.OrdinalIgnoreCase) => ErrorKind.Canceled,
        _ when TransientNumbers.Contains(number) => ErrorKind.Transient,
        _ => ErrorKind.Permanent,
    };
}
