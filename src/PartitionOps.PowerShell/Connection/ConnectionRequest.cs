using System.Data.Common;
using System.Net;
using System.Security;
using PartitionOps.Engine;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Connection;

/// <summary>
/// The connection parameters of a cmdlet, without PowerShell types (PSCredential becomes user name
/// + SecureString) so that the mapping to a <see cref="DatabaseTarget"/> is testable without a host.
/// </summary>
public sealed class ConnectionRequest
{
    public PartitionOpsConnection? Connection { get; init; }
    public string? ConnectionString { get; init; }
    public string? Provider { get; init; }
    public string? SqlInstance { get; init; }
    public string? Database { get; init; }
    public string? UserName { get; init; }
    public SecureString? Password { get; init; }
    public SecureString? AccessToken { get; init; }

    /// <summary>Never prints a secret: passwords in the connection string are masked, secure strings are not read.</summary>
    public override string ToString() =>
        $"Connection={(Connection is null ? "" : Connection.ToString())}; ConnectionString={ConnectionStrings.Redact(ConnectionString)}; " +
        $"Provider={Provider}; SqlInstance={SqlInstance}; Database={Database}; UserName={UserName}; " +
        $"Password={(Password is null ? "" : "***")}; AccessToken={(AccessToken is null ? "" : "***")}";
}

/// <summary>Maps connection parameters to a target. Host-free: xunit tests every parameter set here.</summary>
public static class ConnectionMapping
{
    public const string DefaultProvider = "sqlserver";

    public static PartitionOpsConnection ToConnection(ConnectionRequest request)
    {
        if (request.Connection is { } existing)
        {
            if (request.ConnectionString != null || request.SqlInstance != null)
                throw new InvalidRequestException(
                    "-Connection", existing.DisplayName, "cannot be combined with -ConnectionString or -SqlInstance");
            return existing;
        }
        var (connectionString, provider, authentication) = BuildConnectionString(request);
        var token = Reveal(request.AccessToken);
        return new PartitionOpsConnection(new DatabaseTarget(provider, connectionString, token), authentication, Secrets(request));
    }

    public static DatabaseTarget ToTarget(ConnectionRequest request) => ToConnection(request).Target;

    /// <summary>The provider and the full connection string (with its secrets) for the request.</summary>
    public static (string ConnectionString, IDatabaseProvider Provider, string Authentication) BuildConnectionString(
        ConnectionRequest request)
    {
        var hasString = !string.IsNullOrWhiteSpace(request.ConnectionString);
        var hasInstance = !string.IsNullOrWhiteSpace(request.SqlInstance);
        if (hasString && hasInstance)
            throw new InvalidRequestException(
                "-SqlInstance", request.SqlInstance, "cannot be combined with -ConnectionString: give one of them");
        if (!hasString && !hasInstance)
            throw new InvalidRequestException("-SqlInstance", "", "is empty: give -Connection, -ConnectionString or -SqlInstance");

        var provider = ProviderRegistry.Get(string.IsNullOrWhiteSpace(request.Provider) ? DefaultProvider : request.Provider);
        var hasCredential = !string.IsNullOrEmpty(request.UserName);
        var hasToken = request.AccessToken is { Length: > 0 };
        // SqlClient refuses AccessToken together with a user name or password; PostgreSQL takes the
        // token as the password of the credential's user.
        if (hasToken && hasCredential && provider.Kind != DatabaseKind.PostgreSql)
            throw new InvalidRequestException(
                "-AccessToken", "***", "cannot be combined with -SqlCredential on " + provider.Name + ": the token is the credential");

        var builder = new DbConnectionStringBuilder();
        if (hasString)
        {
            try { builder.ConnectionString = request.ConnectionString; }
            catch (ArgumentException e)
            {
                throw new InvalidRequestException("-ConnectionString", ConnectionStrings.Redact(request.ConnectionString),
                    "is not a valid connection string: " + e.Message);
            }
        }
        else
        {
            AddInstance(builder, provider.Kind, request.SqlInstance!.Trim(), request.Database);
        }

        if (hasToken && provider.Kind == DatabaseKind.SqlServer)
        {
            // SqlClient throws on AccessToken plus any other way of signing in; say so as bad input.
            foreach (var key in new[]
                     { "Authentication", "Integrated Security", "Trusted_Connection", "User ID", "UID", "User", "Password", "PWD" })
                if (builder.ContainsKey(key))
                    throw new InvalidRequestException("-AccessToken", "***",
                        $"cannot be combined with '{key}' in the connection string: the token is the credential");
        }

        if (hasCredential)
        {
            var (userKey, passwordKey) = CredentialKeys(provider.Kind);
            builder[userKey] = request.UserName;
            var password = Reveal(request.Password);
            if (!string.IsNullOrEmpty(password)) builder[passwordKey] = password;
            if (provider.Kind == DatabaseKind.SqlServer)
            {
                builder.Remove("Integrated Security");
                // dbatools' rule: an Entra ID user (name@domain) on Azure SQL signs in with its password.
                if (!hasString && request.UserName!.Contains('@') && IsAzureSqlHost(request.SqlInstance!))
                    builder["Authentication"] = "Active Directory Password";
            }
        }
        else if (!hasString && !hasToken && provider.Kind == DatabaseKind.SqlServer)
        {
            // dbatools' default: Windows / Kerberos authentication when no credential is given.
            builder["Integrated Security"] = true;
        }

        // A string the user gave and we did not change is passed on verbatim (the builder lower-cases keys).
        var result = hasString && !hasCredential ? request.ConnectionString! : builder.ConnectionString;
        return (result, provider, DescribeAuthentication(builder, hasToken));
    }

    /// <summary>
    /// -SqlInstance as each engine writes a server: SQL Server "host\instance" or "host,port" as is;
    /// PostgreSQL "host", "host:port" or "host,port"; Oracle an EZConnect "host[:port][/service]".
    /// </summary>
    private static void AddInstance(DbConnectionStringBuilder builder, DatabaseKind kind, string instance, string? database)
    {
        switch (kind)
        {
            case DatabaseKind.SqlServer:
                builder["Data Source"] = instance;
                if (!string.IsNullOrWhiteSpace(database)) builder["Initial Catalog"] = database;
                break;
            case DatabaseKind.PostgreSql:
                var (host, port) = SplitHostPort(instance);
                builder["Host"] = host;
                if (port != null) builder["Port"] = port;
                if (!string.IsNullOrWhiteSpace(database)) builder["Database"] = database;
                break;
            case DatabaseKind.Oracle:
                builder["Data Source"] = !string.IsNullOrWhiteSpace(database) && !instance.Contains('/')
                    ? instance + "/" + database
                    : instance;
                break;
            default:
                throw new InvalidRequestException("-Provider", kind, "does not support -SqlInstance: use -ConnectionString");
        }
    }

    private static readonly string[] AzureSqlDomains =
        [".database.windows.net", ".database.usgovcloudapi.net", ".database.chinacloudapi.cn", ".sql.azuresynapse.net"];

    public static bool IsAzureSqlHost(string instance)
    {
        var host = instance.Trim();
        if (host.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase)) host = host[4..];
        var comma = host.IndexOf(',');
        if (comma >= 0) host = host[..comma];
        return AzureSqlDomains.Any(d => host.EndsWith(d, StringComparison.OrdinalIgnoreCase));
    }

    public static (string Host, string? Port) SplitHostPort(string instance)
    {
        // [::1]:5432 keeps the brackets off the host; host,port is SQL Server habit, accepted too.
        if (instance.StartsWith('['))
        {
            var end = instance.IndexOf(']');
            if (end > 0)
            {
                var rest = instance[(end + 1)..].TrimStart(':', ',');
                return (instance[1..end], rest.Length > 0 ? rest : null);
            }
        }
        var separator = instance.LastIndexOfAny([':', ',']);
        if (separator > 0 && instance.IndexOf(':') == instance.LastIndexOf(':') && int.TryParse(instance[(separator + 1)..], out var port))
            return (instance[..separator], port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (instance, null);
    }

    private static (string User, string Password) CredentialKeys(DatabaseKind kind) => kind switch
    {
        DatabaseKind.PostgreSql => ("Username", "Password"),
        DatabaseKind.Oracle => ("User Id", "Password"),
        _ => ("User ID", "Password"),
    };

    private static string DescribeAuthentication(DbConnectionStringBuilder builder, bool hasToken)
    {
        if (hasToken) return "AccessToken";
        if (builder.TryGetValue("Authentication", out var auth) && auth?.ToString() is { Length: > 0 } text) return text;
        if (builder.TryGetValue("Integrated Security", out var integrated) && integrated?.ToString() is { } i
            && (i.Equals("true", StringComparison.OrdinalIgnoreCase) || i.Equals("sspi", StringComparison.OrdinalIgnoreCase)
                || i.Equals("yes", StringComparison.OrdinalIgnoreCase)))
            return "Integrated";
        foreach (var key in new[] { "Password", "Pwd" })
            if (builder.ContainsKey(key)) return "Password";
        return "Default";
    }

    /// <summary>The secrets a request carries, so messages can be scrubbed of them.</summary>
    public static IReadOnlyList<string> Secrets(ConnectionRequest request)
    {
        var secrets = new List<string>(request.Connection?.Secrets ?? []);
        if (Reveal(request.Password) is { Length: > 0 } password) secrets.Add(password);
        if (Reveal(request.AccessToken) is { Length: > 0 } token) secrets.Add(token);
        // Every key any known driver reads as a secret (Npgsql's PSW and PWD, SqlClient's PWD, ODP.NET's Proxy Password...).
        secrets.AddRange(ConnectionStrings.SecretValues(request.ConnectionString));
        return secrets;
    }

    internal static string? Reveal(SecureString? secure) =>
        secure is null ? null : new NetworkCredential(string.Empty, secure).Password;
}
