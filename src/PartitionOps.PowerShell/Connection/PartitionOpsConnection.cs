using System.Data.Common;
using System.Management.Automation;
using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Connection;

/// <summary>
/// What New-PartitionOpsConnection returns and -Connection takes. It holds the target (with its
/// secrets) privately; everything public is safe to print, log or serialize.
/// </summary>
public sealed class PartitionOpsConnection
{
    internal PartitionOpsConnection(DatabaseTarget target, string authentication, IReadOnlyList<string>? secrets = null)
    {
        Target = target ?? throw new ArgumentNullException(nameof(target));
        Authentication = authentication;
        Secrets = secrets ?? [];
        var redacted = new DbConnectionStringBuilder();
        try { redacted.ConnectionString = target.DisplayName; } catch (ArgumentException) { }
        Server = First(redacted, "Data Source", "Server", "Host", "Address", "Addr", "Network Address");
        Database = First(redacted, "Initial Catalog", "Database");
    }

    internal DatabaseTarget Target { get; }

    /// <summary>The password and token inside, so cmdlets using this connection can scrub them from messages.</summary>
    internal IReadOnlyList<string> Secrets { get; }

    /// <summary>sqlserver, oracle or postgresql.</summary>
    public string Provider => Target.Provider.Name;

    public string? Server { get; }

    public string? Database { get; }

    /// <summary>How it signs in: Integrated, Password, AccessToken, or the connection string's Authentication value.</summary>
    public string Authentication { get; }

    /// <summary>The connection string with passwords masked.</summary>
    public string DisplayName => Target.DisplayName;

    /// <summary>
    /// Itself, so that piping a connection object binds -Connection by property name, like
    /// any other object that carries a Connection property.
    /// </summary>
    [Hidden]
    public PartitionOpsConnection Connection => this;

    public override string ToString() => Target.ToString();

    private static string? First(DbConnectionStringBuilder builder, params string[] keys)
    {
        foreach (var key in keys)
            if (builder.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } text) return text;
        return null;
    }
}
