using System.Data.Common;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;

namespace PartitionOps.Engine.Providers;

/// <summary>
/// One database engine: how to connect, how to name things and how to read its errors. The SQL of
/// each feature lives in a dialect that only builds text (Respawn style); the engine never branches
/// on <see cref="Kind"/>.
/// </summary>
public interface IDatabaseProvider
{
    DatabaseKind Kind { get; }

    /// <summary>The name used on the command line: sqlserver, oracle, postgresql.</summary>
    string Name { get; }

    /// <summary>Schema of user tables when none is given: dbo, public, or the connected user on Oracle.</summary>
    string DefaultSchema { get; }

    /// <summary>Schema of PartitionOps' control tables when none is given.</summary>
    string DefaultControlSchema { get; }

    IErrorClassifier Errors { get; }

    /// <summary>Quotes a (validated) identifier so it is used exactly as written.</summary>
    string Quote(string identifier);

    /// <summary>The parameter's name as it appears in SQL text, e.g. @last_key or :last_key.</summary>
    string ParameterMarker(string name);

    /// <summary>The name given to DbParameter.ParameterName (Oracle wants it without the colon).</summary>
    string BindName(string name) => ParameterMarker(name);

    /// <summary>
    /// A closed connection. <paramref name="accessToken"/> is an Entra ID token: SqlConnection.AccessToken
    /// on SQL Server, the password on PostgreSQL (Azure Database for PostgreSQL takes tokens as passwords).
    /// </summary>
    DbConnection CreateConnection(string connectionString, string? accessToken = null);

    /// <summary>
    /// Whether the driver reads <paramref name="key"/> of a connection string as a secret (a password under any of its
    /// aliases): asked of the driver's own connection string builder where there is one.
    /// </summary>
    bool IsSecretKey(string key) => false;

    /// <summary>
    /// Drops the idle pooled connections of <paramref name="broken"/>'s pool: after a server restart or a failover they are
    /// all dead, and each would otherwise be handed out (and fail) once before a live one is opened.
    /// </summary>
    void ClearPool(DbConnection broken) { }

    /// <summary>Sets provider specifics on every command (Oracle: BindByName, LONG fetch size).</summary>
    void PrepareCommand(DbCommand command) { }

    /// <summary>Backfill SQL, or null when this engine is not a backfill target.</summary>
    IBackfillDialect? Backfill { get; }

    /// <summary>ILM SQL, or null when this engine is not an ILM target.</summary>
    IIlmDialect? Ilm { get; }
}
