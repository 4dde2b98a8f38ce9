using System.Management.Automation;
using System.Security;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.PowerShell;

/// <summary>
/// Adds the connection parameter sets built from parameters: -ConnectionString (+ -Provider) and
/// -SqlInstance/-Database (dbatools style), each with -SqlCredential or -AccessToken. The mapping
/// itself is <see cref="ConnectionMapping"/> (host-free). New-PartitionOpsConnection derives from this;
/// engine cmdlets derive from <see cref="PartitionOpsCmdlet"/>, which adds -Connection.
/// </summary>
public abstract class PartitionOpsConnectionCmdletBase : PartitionOpsCmdletBase
{
    public const string ConnectionSet = "Connection";
    public const string ConnectionStringSet = "ConnectionString";
    public const string SqlInstanceSet = "SqlInstance";

    private PartitionOpsConnection? _resolved;

    /// <summary>An ADO.NET connection string for -Provider (default sqlserver).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConnectionStringSet)]
    [ValidateNotNullOrEmpty]
    public string? ConnectionString { get; set; }

    [Parameter(ParameterSetName = ConnectionStringSet)]
    [Parameter(ParameterSetName = SqlInstanceSet)]
    [ValidateSet("sqlserver", "oracle", "postgresql", IgnoreCase = true)]
    public string Provider { get; set; } = ConnectionMapping.DefaultProvider;

    /// <summary>dbatools style: server[\instance][,port] (SQL Server), host[:port] (PostgreSQL), host[:port]/service (Oracle).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SqlInstanceSet)]
    [Alias("ServerInstance", "SqlServer")]
    [ValidateNotNullOrEmpty]
    public string? SqlInstance { get; set; }

    [Parameter(ParameterSetName = SqlInstanceSet)]
    public string? Database { get; set; }

    [Parameter(ParameterSetName = ConnectionStringSet)]
    [Parameter(ParameterSetName = SqlInstanceSet)]
    [Credential]
    public PSCredential? SqlCredential { get; set; }

    /// <summary>
    /// An Entra ID access token (e.g. (Get-AzAccessToken -ResourceUrl https://database.windows.net -AsSecureString).Token).
    /// </summary>
    [Parameter(ParameterSetName = ConnectionStringSet)]
    [Parameter(ParameterSetName = SqlInstanceSet)]
    public SecureString? AccessToken { get; set; }

    /// <summary>The connection parameters as a host-free request (PSCredential split into name and password).</summary>
    protected internal virtual ConnectionRequest GetConnectionRequest() => new()
    {
        ConnectionString = ConnectionString,
        Provider = Provider,
        SqlInstance = SqlInstance,
        Database = Database,
        UserName = SqlCredential?.UserName,
        Password = SqlCredential?.Password,
        AccessToken = AccessToken,
    };

    /// <summary>The connection this invocation works on, resolved once (or per record for -Connection from the pipeline).</summary>
    protected internal virtual PartitionOpsConnection ResolveConnection() =>
        _resolved ??= ConnectionMapping.ToConnection(GetConnectionRequest());

    protected override IReadOnlyList<string> Secrets => ConnectionMapping.Secrets(GetConnectionRequest());

    protected override IDatabaseProvider? CurrentProvider => _resolved?.Target.Provider;
}
