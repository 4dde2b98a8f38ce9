using System.Collections.Concurrent;
using System.Data.Common;
using System.Reflection;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;

namespace PartitionOps.Engine.Providers.Oracle;

/// <summary>
/// Oracle through ODP.NET loaded at run time (<see cref="OracleDriver"/>): nothing here references the
/// driver's types, so the rest of PartitionOps works without it, and offline plans can show Oracle SQL.
/// </summary>
public sealed class OracleProvider : IDatabaseProvider
{
    public static readonly OracleProvider Instance = new();

    private static readonly ConcurrentDictionary<Type, Action<DbCommand>> Preparers = new();

    public DatabaseKind Kind => DatabaseKind.Oracle;
    public string Name => "oracle";

    /// <summary>Empty: names are left unqualified and resolve in the connected user's schema.</summary>
    public string DefaultSchema => "";

    /// <summary>Empty: control tables live in the connected user's schema.</summary>
    public string DefaultControlSchema => "";

    public IErrorClassifier Errors { get; } = new OracleErrorClassifier();

    /// <summary>Upper case, as Oracle folds unquoted names, then quoted.</summary>
    public string Quote(string identifier) => Identifier.Quote(Quotable(identifier).ToUpperInvariant(), '"', '"');

    /// <summary>
    /// Oracle has no escape inside a quoted identifier: "neither quoted nor nonquoted identifiers can contain double
    /// quotation marks or the null character"
    /// (https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/Database-Object-Names-and-Qualifiers.html).
    /// Such a name (read from a catalog or a layout file) cannot be written safely into a statement: refused at planning.
    /// </summary>
    public static string Quotable(string identifier) =>
        identifier.Contains('"') || identifier.Contains('\0') || identifier.Any(char.IsControl)
            ? throw new InvalidRequestException(nameof(PartitionOps.Engine.Ilm.IlmTableRequest.Table), "name", identifier,
                "cannot be quoted in Oracle SQL (a double quote, NUL or control character): rename it before planning")
            : identifier;

    public string ParameterMarker(string name) => ":" + name;

    /// <summary>ODP.NET wants the parameter name without the colon.</summary>
    public string BindName(string name) => name;

    /// <summary>
    /// ODP.NET's secret keys: Password and Proxy Password
    /// (https://docs.oracle.com/en/database/oracle/oracle-database/23/odpnt/ConnectionConnectionString.html). The driver
    /// is loaded at run time only, so its builder cannot be asked before it is there.
    /// </summary>
    public bool IsSecretKey(string key) =>
        key.Equals("Password", StringComparison.OrdinalIgnoreCase) || key.Equals("Proxy Password", StringComparison.OrdinalIgnoreCase);

    public DbConnection CreateConnection(string connectionString, string? accessToken = null)
    {
        if (accessToken != null)
            throw new InvalidRequestException("AccessToken", "***",
                "is not supported for Oracle: use a connection string with User Id/Password or a wallet");
        var connection = OracleDriver.Factory.CreateConnection()
            ?? throw new PartitionOpsException("the Oracle driver returned no connection");
        try
        {
            connection.ConnectionString = connectionString;
        }
        catch (ArgumentException e)
        {
            connection.Dispose();
            throw new InvalidRequestException(nameof(DatabaseTarget.ConnectionString), ConnectionStrings.Redact(connectionString, this),
                "is not a valid Oracle connection string: " + ConnectionStrings.RefusalReason(e, connectionString, this));
        }
        return connection;
    }

    /// <summary>
    /// BindByName: ODP.NET binds by position unless told otherwise, and our statements bind by name.
    /// InitialLONGFetchSize = -1: fetch LONG columns (ALL_TAB_PARTITIONS.HIGH_VALUE) whole
    /// (https://docs.oracle.com/database/122/ODPNT/CommandInitialLONGFetchSize.htm).
    /// Set by reflection because the driver is only known at run time.
    /// </summary>
    public void PrepareCommand(DbCommand command) =>
        Preparers.GetOrAdd(command.GetType(), BuildPreparer)(command);

    private static Action<DbCommand> BuildPreparer(Type type)
    {
        var bindByName = type.GetProperty("BindByName", BindingFlags.Public | BindingFlags.Instance);
        var longFetch = type.GetProperty("InitialLONGFetchSize", BindingFlags.Public | BindingFlags.Instance);
        return command =>
        {
            if (bindByName?.CanWrite == true) bindByName.SetValue(command, true);
            if (longFetch?.CanWrite == true) longFetch.SetValue(command, -1);
        };
    }

    public IBackfillDialect? Backfill => null;

    public IIlmDialect? Ilm => OracleIlmDialect.Instance;
}

/// <summary>
/// ORA- numbers read from the exception's Number property (OracleException is only known at run time).
/// https://docs.oracle.com/en/error-help/db/
/// </summary>
public sealed class OracleErrorClassifier : IErrorClassifier
{
    /// <summary>
    /// Retryable: resource busy and acquire with NOWAIT specified or timeout expired (ORA-00054, what DDL_LOCK_TIMEOUT
    /// ends in: https://docs.oracle.com/en/error-help/db/ora-00054), timeout waiting for a library lock (ORA-04021),
    /// resource busy, acquire with WAIT timeout expired (ORA-30006).
    /// </summary>
    public static readonly IReadOnlySet<int> LockTimeoutNumbers = new HashSet<int> { 54, 4021, 30006 };

    /// <summary>Lost or refused connections worth a reconnect.</summary>
    public static readonly IReadOnlySet<int> TransientNumbers = new HashSet<int>
        { 3113, 3114, 3135, 12170, 12514, 12516, 12519, 12520, 12528, 12537, 12541, 12543, 12547, 12571, 25408 };

    /// <summary>
    /// Merge refusals retrying cannot cure (the planner avoids them; a layout changed behind its back can still hit them):
    /// ORA-14272 only a partition with higher bound can be reused (https://docs.oracle.com/en/error-help/db/oci-14272),
    /// ORA-14274 partitions being merged are not adjacent (https://docs.oracle.com/en/error-help/db/ora-14274),
    /// ORA-14275 cannot reuse lower-bound partition as resulting partition (https://docs.oracle.com/en/error-help/db/oci-14275),
    /// ORA-14806 merging more than two partitions is only supported for heap tables, e.g. not for index-organized
    /// ones (https://docs.oracle.com/en/error-help/db/ora-14806): the planner merges those pairwise.
    /// </summary>
    public static readonly IReadOnlySet<int> PermanentMergeNumbers = new HashSet<int> { 14272, 14274, 14275, 14806 };

    public ErrorKind Classify(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException)
        {
            if (e is OperationCanceledException) return ErrorKind.Canceled;
            if (OracleNumber(e) is not { } number) continue;
            if (PermanentMergeNumbers.Contains(number)) return ErrorKind.Permanent;
            if (LockTimeoutNumbers.Contains(number)) return ErrorKind.LockTimeout;
            if (number == 60) return ErrorKind.Deadlock;
            if (number == 1013) return ErrorKind.Canceled; // user requested cancel of current operation
            if (TransientNumbers.Contains(number)) return ErrorKind.Transient;
            return ErrorKind.Permanent;
        }
        return ErrorKind.Permanent;
    }

    /// <summary>The ORA- number of an OracleException (or any DbException with an int Number).</summary>
    public static int? OracleNumber(Exception e)
    {
        if (e is not DbException) return null;
        var property = e.GetType().GetProperty("Number", BindingFlags.Public | BindingFlags.Instance);
        return property?.GetValue(e) is int n ? n : null;
    }
}
