using System.Data.Common;

namespace PartitionOps.Engine.Providers;

public static class ConnectionStrings
{
    private static readonly string[] SecretKeys = ["password", "pwd", "access token", "accesstoken", "user password"];

    /// <summary>The connection string with every secret replaced by ***, for messages and logs.</summary>
    public static string Redact(string? connectionString)
    {
        if (string.IsNullOrEmpty(connectionString)) return "";
        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
            foreach (var key in builder.Keys.Cast<string>().ToList())
                if (SecretKeys.Contains(key, StringComparer.OrdinalIgnoreCase)) builder[key] = "***";
            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "(unparsable connection string)";
        }
    }
}
