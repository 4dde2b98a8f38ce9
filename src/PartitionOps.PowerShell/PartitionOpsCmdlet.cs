using System.Management.Automation;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.PowerShell;

/// <summary>
/// Base of every cmdlet that works on a database: adds -Connection (an object from
/// New-PartitionOpsConnection, bindable by property name from the pipeline) to the connection sets.
/// Declare <c>DefaultParameterSetName = ConnectionSet</c> on the derived [Cmdlet] so that a connection
/// arriving through the pipeline is never pre-empted by a prompt for -SqlInstance.
/// </summary>
public abstract class PartitionOpsCmdlet : PartitionOpsConnectionCmdletBase
{
    [Parameter(Mandatory = true, ParameterSetName = ConnectionSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public PartitionOpsConnection? Connection { get; set; }

    /// <summary>Where the engine should work; for -Connection it follows each pipeline record.</summary>
    protected DatabaseTarget Target => ResolveConnection().Target;

    protected internal override ConnectionRequest GetConnectionRequest()
    {
        var request = base.GetConnectionRequest();
        if (Connection is null) return request;
        // -Connection carries everything; the other sets' defaults (Provider) must not leak in.
        return new ConnectionRequest { Connection = Connection };
    }

    protected internal override PartitionOpsConnection ResolveConnection() =>
        Connection ?? base.ResolveConnection();

    protected override IDatabaseProvider? CurrentProvider => Connection?.Target.Provider ?? base.CurrentProvider;
}
