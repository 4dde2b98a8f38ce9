using System.Data.Common;
using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;

namespace PartitionOps.Engine.Providers.PostgreSql;

public sealed class PostgreSqlProvider : IDatabaseProvider
{
    public static readonly PostgreSqlProvider Instance = new();

    public DatabaseKind Kind => DatabaseKind.PostgreSql;
    public string Name => "postgresql";
    public string DefaultSchema => "public";
    public string DefaultControlSchema => "partitionops";
    public IErrorClassifier Errors { get; } = new PostgreSqlErrorClassifier();

    public string Quote(string identifier) => Identifier.Quote(identifier, '"', '"');
    public string ParameterMarker(string name) => "@" + name;

    // https://www.npgsql.org/doc/api/Npgsql.NpgsqlConnection.html#Npgsql_NpgsqlConnection_ClearPool_Npgsql_NpgsqlConnection_
    public void ClearPool(DbConnection broken) { if (broken is NpgsqlConnection c) NpgsqlConnection.ClearPool(c); }

    public DbConnection CreateConnection(string connectionString, string? accessToken = null)
    {
        NpgsqlConnectionStringBuilder builder;
        try { builder = new NpgsqlConnectionStringBuilder(connectionString); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new InvalidRequestException(nameof(DatabaseTarget.ConnectionString), ConnectionStrings.Redact(connectionString, this),
                "is not a valid PostgreSQL connection string: " + ConnectionStrings.RefusalReason(e, connectionString, this));
        }
        // Names our sessions, so throttling can find whom our batches block.
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "partitionops";
        if (accessToken != null) builder.Password = accessToken;
        return new NpgsqlConnection(builder.ConnectionString);
    }

    public IBackfillDialect? Backfill { get; } = new PostgreSqlBackfillDialect();
    public IIlmDialect? Ilm => PostgreSqlIlmDialect.Instance;

    /// <summary>
    /// Npgsql's builder maps every alias to its property (Password also reads PSW and PWD; SslPassword): set the key to a
    /// probe and see whether a secret property took it.
    /// </summary>
    public bool IsSecretKey(string key)
    {
        const string probe = "partitionops-probe";
        try
        {
            var builder = new NpgsqlConnectionStringBuilder { [key] = probe };
            return builder.Password == probe || builder.SslPassword == probe;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException)
        {
            return false;
        }
    }
}

/// <summary>SQLSTATE based: https://www.postgresql.org/docs/current/errcodes-appendix.html</summary>
public sealed class PostgreSqlErrorClassifier : IErrorClassifier
{
    public ErrorKind Classify(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException)
        {
            if (e is OperationCanceledException) return ErrorKind.Canceled;
            if (e is PostgresException pg)
            {
                return pg.SqlState switch
                {
                    "55P03" => ErrorKind.LockTimeout,          // lock_not_available (lock_timeout, NOWAIT)
                    "40P01" => ErrorKind.Deadlock,             // deadlock_detected
                    "40001" => ErrorKind.Deadlock,             // serialization_failure: retry whole
                    "57014" => ErrorKind.Canceled,             // query_canceled (statement_timeout or cancel)
                    "57P01" or "57P02" or "57P03" => ErrorKind.Transient, // admin/crash shutdown, cannot connect now
                    "53300" => ErrorKind.Transient,            // too_many_connections
                    _ when pg.SqlState.StartsWith("08", StringComparison.Ordinal) => ErrorKind.Transient, // connection exceptions
                    _ => ErrorKind.Permanent,
                };
            }
            if (e is NpgsqlException { IsTransient: true }) return ErrorKind.Transient;
        }
        return ErrorKind.Permanent;
    }
}
