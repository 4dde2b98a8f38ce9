using System.Management.Automation;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// New-PartitionOpsConnection: a reusable, printable connection for -Connection. It only builds an
/// object (no ShouldProcess); -Validate opens one connection so that a wrong server or credential
/// fails here, early, rather than in a runbook's first real step.
/// </summary>
[Cmdlet(VerbsCommon.New, "PartitionOpsConnection", DefaultParameterSetName = SqlInstanceSet)]
[OutputType(typeof(PartitionOpsConnection))]
public sealed class NewPartitionOpsConnectionCommand : PartitionOpsConnectionCmdletBase
{
    [Parameter]
    public SwitchParameter Validate { get; set; }

    protected override void ProcessRecord()
    {
        var connection = Run(SqlInstance ?? ConnectionStrings.Redact(ConnectionString), async ct =>
        {
            var resolved = ResolveConnection();
            if (Validate)
            {
                await using var open = await resolved.Target.OpenAsync(ct).ConfigureAwait(false);
                WriteVerboseSafe($"Connected to {resolved.DisplayName}");
            }
            return resolved;
        });
        if (connection != null) WriteObject(connection);
    }
}
