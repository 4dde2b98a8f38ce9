using System.Data.Common;

namespace PartitionOps.Engine.Providers;

/// <summary>
/// Secrets of connection strings, as each driver's own connection string builder knows them: Npgsql reads Password
/// under the aliases PSW and PWD too (and SSL Password), SqlClient reads PWD, ODP.NET reads Password and Proxy Password.
/// Which keys are secret is asked of the driver (<see cref="IDatabaseProvider.IsSecretKey"/>), so an alias is never missed.
/// </summary>
public static class ConnectionStrings
{
    /// <summary>Keys that are secret whatever the driver (Entra ID tokens, the ODBC-style user password).</summary>
    private static readonly string[] CommonSecretKeys = ["password", "pwd", "psw", "access token", "accesstoken", "user password"];

    public const string Mask = "***";

    /// <summary>True when <paramref name="key"/> holds a secret for the given driver, or for any known driver when it is null.</summary>
    public static bool IsSecretKey(string key, IDatabaseProvider? provider = null)
    {
        var k = key.Trim();
        if (CommonSecretKeys.Contains(k, StringComparer.OrdinalIgnoreCase)) return true;
        return provider is null ? ProviderRegistry.All.Any(p => p.IsSecretKey(k)) : provider.IsSecretKey(k);
    }

    /// <summary>
    /// The connection string with every secret replaced by ***, for messages and logs. A string that the driver refuses
    /// (Port=abc) is still redacted key by key; one that cannot even be split into keys is not shown at all.
    /// </summary>
    public static string Redact(string? connectionString, IDatabaseProvider? provider = null)
    {
        if (string.IsNullOrEmpty(connectionString)) return "";
        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            foreach (var key in builder.Keys.Cast<string>().ToList())
                if (IsSecretKey(key, provider)) builder[key] = Mask;
            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "(unparsable connection string, not shown)";
        }
    }

    /// <summary>The secret values a connection string carries (for scrubbing text that might repeat them).</summary>
    public static IReadOnlyList<string> SecretValues(string? connectionString, IDatabaseProvider? provider = null)
    {
        if (string.IsNullOrEmpty(connectionString)) return [];
        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            return builder.Keys.Cast<string>()
                .Where(k => IsSecretKey(k, provider))
                .Select(k => builder[k]?.ToString() ?? "")
                .Where(v => v.Length > 0)
                .ToList();
        }
        catch (ArgumentException)
        {
            return [];
        }
    }

    /// <summary><paramref name="text"/> with every secret of <paramref name="connectionString"/> replaced by ***.</summary>
    public static string Scrub(string? text, string? connectionString, IDatabaseProvider? provider = null)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        foreach (var secret in SecretValues(connectionString, provider).OrderByDescending(s => s.Length))
            text = text.Replace(secret, Mask, StringComparison.Ordinal);
        return text;
    }

    /// <summary>
    /// The driver's message for a string it refused, safe to show: secrets scrubbed, and nothing at all when the string
    /// cannot be split into keys (then its secrets cannot be found to scrub).
    /// </summary>
    public static string RefusalReason(Exception e, string connectionString, IDatabaseProvider provider)
    {
        try
        {
            _ = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            return "its syntax is not key=value;key=value";
        }
        return InvalidRequestException.Escape(Scrub(e.Message, connectionString, provider));
    }
}
