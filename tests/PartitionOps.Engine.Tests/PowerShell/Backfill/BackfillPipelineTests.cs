using PartitionOps.PowerShell.Backfill;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.Engine.Tests.PowerShell.Backfill;

/// <summary>
/// The pipeline rule of the backfill cmdlets, driven without a host: records are collected in
/// ProcessRecord and worked in EndProcessing, one engine call per connection.
/// </summary>
public class BackfillPipelineTests
{
    /// <summary>A backfill cmdlet whose work only records what it was asked to do.</summary>
    private sealed class RecordingCmdlet : BackfillScopeCmdlet
    {
        public List<(PartitionOpsConnection Connection, IReadOnlyList<string> Types, string? TargetDisplay)> Calls { get; } = [];

        public void Record() => ProcessRecord();

        public void End() => EndProcessing();

        protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes) =>
            Calls.Add((ResolveConnection(), resourceTypes, Target.DisplayName));
    }

    private static PartitionOpsConnection Pg(string host) =>
        ConnectionMapping.ToConnection(new ConnectionRequest { SqlInstance = host, Provider = "postgresql", Database = "fhir" });

    [Fact]
    public void Csv_rows_with_one_connection_become_one_call_over_all_types()
    {
        var connection = Pg("pg01");
        var cmdlet = new RecordingCmdlet { Connection = connection };
        foreach (var type in new[] { "ValueSet", "CodeSystem", "ValueSet", "" })
        {
            cmdlet.ResourceType = [type];
            cmdlet.Record();
        }
        cmdlet.End();
        var call = Assert.Single(cmdlet.Calls);
        Assert.Same(connection, call.Connection);
        Assert.Equal(["ValueSet", "CodeSystem"], call.Types);
    }

    [Fact]
    public void Piped_connections_each_get_their_own_call_and_target()
    {
        var a = Pg("pg01");
        var b = Pg("pg02");
        var cmdlet = new RecordingCmdlet { ResourceType = ["SearchParameter"] };
        cmdlet.Connection = a;
        cmdlet.Record();
        cmdlet.Connection = b;
        cmdlet.Record();
        cmdlet.End();
        Assert.Equal(2, cmdlet.Calls.Count);
        Assert.Same(a, cmdlet.Calls[0].Connection);
        Assert.Contains("pg01", cmdlet.Calls[0].TargetDisplay);
        Assert.Same(b, cmdlet.Calls[1].Connection);
        Assert.Contains("pg02", cmdlet.Calls[1].TargetDisplay);
        Assert.All(cmdlet.Calls, c => Assert.Equal(["SearchParameter"], c.Types));
    }

    [Fact]
    public void Without_ResourceType_the_call_covers_all_types()
    {
        var cmdlet = new RecordingCmdlet { SqlInstance = "pg01", Provider = "postgresql" };
        cmdlet.Record();
        cmdlet.End();
        Assert.Empty(Assert.Single(cmdlet.Calls).Types);
    }

    [Fact]
    public void Bad_connection_input_is_an_error_record_not_a_call()
    {
        // -EnableException is off: the failure is written (the stub's WriteError does nothing) and nothing runs.
        var cmdlet = new RecordingCmdlet { ConnectionString = "Host=x;Nonsense Keyword=1", Provider = "postgresql" };
        cmdlet.Record();
        cmdlet.End();
        Assert.Empty(cmdlet.Calls);
    }
}
