using System.Text.RegularExpressions;

namespace PartitionOps.Engine.Providers;

/// <summary>
/// Validation of object names given by users. Names are always quoted by a dialect as well; validation
/// refuses anything that is not a plain identifier so that no name can carry SQL.
/// </summary>
public static partial class Identifier
{
    public const int MaxLength = 128;

    // \z, not $: in .NET "$" also matches before a final "\n", so "partitionops\n" would pass.
    [GeneratedRegex(@"\A[A-Za-z_][A-Za-z0-9_$#]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PlainIdentifier();

    /// <summary>
    /// Schemas that belong to a database engine, never to user tables or our control tables:
    /// PostgreSQL reserves every name starting with pg_ (https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-CATALOG)
    /// and has information_schema; SQL Server's sys, INFORMATION_SCHEMA, guest and the fixed database role schemas
    /// (https://learn.microsoft.com/sql/relational-databases/security/authentication-access/ownership-and-user-schema-separation);
    /// Oracle's administrative accounts SYS, SYSTEM and the other Oracle-maintained schemas
    /// (https://docs.oracle.com/en/database/oracle/oracle-database/19/ntqrf/about-the-oracle-maintained-accounts.html).
    /// </summary>
    public static readonly IReadOnlySet<string> SystemSchemas = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "information_schema", "pg_catalog", "pg_toast",
        "sys", "guest", "db_owner", "db_accessadmin", "db_securityadmin", "db_ddladmin", "db_backupoperator",
        "db_datareader", "db_datawriter", "db_denydatareader", "db_denydatawriter",
        "system", "audsys", "outln", "xdb", "dbsnmp", "appqossys", "dbsfwuser", "gsmadmin_internal", "lbacsys",
        "mdsys", "ojvmsys", "olapsys", "ordsys", "ordplugins", "ctxsys", "wmsys", "dvsys", "dvf", "remote_scheduler_agent",
    };

    /// <summary>Returns <paramref name="name"/> when it is a plain identifier, else throws naming it.</summary>
    public static string Validate(string? name, string parameter)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new InvalidRequestException(parameter, name ?? "", "is empty: a name is required");
        if (name.Length > MaxLength)
            throw new InvalidRequestException(parameter, name, $"is longer than {MaxLength} characters");
        if (!PlainIdentifier().IsMatch(name))
            throw new InvalidRequestException(parameter, name,
                "is not a valid identifier: use letters, digits and _ (starting with a letter or _), nothing else, no line break");
        return name;
    }

    /// <summary>A plain identifier that is not a system schema (<see cref="SystemSchemas"/>, or pg_ anything).</summary>
    public static string ValidateSchema(string? name, string parameter)
    {
        Validate(name, parameter);
        if (SystemSchemas.Contains(name!) || name!.StartsWith("pg_", StringComparison.OrdinalIgnoreCase))
            throw new InvalidRequestException(parameter, name, "is a system schema of the database engine: name a schema of your own");
        return name;
    }

    /// <summary>Doubles <paramref name="quote"/> inside the name and wraps it, e.g. "a""b".</summary>
    public static string Quote(string name, char open, char close) =>
        open + name.Replace(close.ToString(), new string(close, 2)) + close;
}
