using System.Management.Automation;
using System.Security;
using PartitionOps.PowerShell;
using PartitionOps.PowerShell.Cmdlets;
using PartitionOps.PowerShell.Connection;
using static PartitionOps.Engine.Tests.PowerShell.ConnectionMappingTests;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>The parameter contract every engine cmdlet inherits, and the base class's plumbing.</summary>
public class CmdletBaseTests
{
    private static readonly CmdletInfo Probe = CmdletInfo.From(typeof(ProbeCmdlet))!;

    private static CmdletParameter Parameter(string name) => Probe.Parameters.Single(p => p.Name == name);

    [Fact]
    public void Connection_parameter_sets_are_inherited()
    {
        Assert.True(Parameter("Connection").Mandatory(PartitionOpsConnectionCmdletBase.ConnectionSet));
        Assert.True(Parameter("Connection").FromPipelineByPropertyName);
        Assert.Equal(typeof(PartitionOpsConnection), Parameter("Connection").Type);
        Assert.True(Parameter("ConnectionString").Mandatory(PartitionOpsConnectionCmdletBase.ConnectionStringSet));
        Assert.True(Parameter("SqlInstance").Mandatory(PartitionOpsConnectionCmdletBase.SqlInstanceSet));
        Assert.Equal(["ConnectionString", "SqlInstance"], Parameter("Provider").SetNames.OrderBy(s => s));
        Assert.Equal(["ConnectionString", "SqlInstance"], Parameter("SqlCredential").SetNames.OrderBy(s => s));
        Assert.Equal(["ConnectionString", "SqlInstance"], Parameter("AccessToken").SetNames.OrderBy(s => s));
        Assert.Equal(["SqlInstance"], Parameter("Database").SetNames);
        Assert.Equal(["__AllParameterSets"], Parameter("EnableException").SetNames);
        Assert.Equal(typeof(PSCredential), Parameter("SqlCredential").Type);
        Assert.Equal(typeof(SecureString), Parameter("AccessToken").Type);
        Assert.Equal(typeof(SwitchParameter), Parameter("EnableException").Type);
        Assert.Contains("ServerInstance", Parameter("SqlInstance").Aliases);
    }

    [Fact]
    public void Provider_is_a_validate_set_of_the_three_engines()
    {
        var validateSet = typeof(PartitionOpsConnectionCmdletBase).GetProperty("Provider")!.GetCustomAttributesData()
            .Single(a => a.AttributeType == typeof(ValidateSetAttribute));
        var values = ((IEnumerable<System.Reflection.CustomAttributeTypedArgument>)validateSet.ConstructorArguments[0].Value!)
            .Select(v => (string)v.Value!).OrderBy(v => v);
        Assert.Equal(["oracle", "postgresql", "sqlserver"], values);
        Assert.Equal("sqlserver", new ProbeCmdlet().Provider);
    }

    [Fact]
    public void Cmdlet_parameters_reach_the_mapping()
    {
        var cmdlet = new NewPartitionOpsConnectionCommand { SqlInstance = "pg01:5433", Database = "fhir", Provider = "postgresql" };
        var request = cmdlet.GetConnectionRequest();
        Assert.Equal("pg01:5433", request.SqlInstance);
        Assert.Equal("fhir", request.Database);
        var connection = cmdlet.ResolveConnection();
        Assert.Equal("postgresql", connection.Provider);
        Assert.Equal("pg01", connection.Server);
        Assert.Same(connection, cmdlet.ResolveConnection());
    }

    [Fact]
    public void Connection_from_the_pipeline_wins_and_follows_each_record()
    {
        var a = ConnectionMapping.ToConnection(new ConnectionRequest { SqlInstance = "sql01" });
        var b = ConnectionMapping.ToConnection(new ConnectionRequest { SqlInstance = "pg01", Provider = "postgresql" });
        var cmdlet = new ProbeCmdlet { Connection = a };
        Assert.Same(a.Target, cmdlet.CurrentTarget);
        cmdlet.Connection = b; // the next pipeline record binds another connection
        Assert.Same(b.Target, cmdlet.CurrentTarget);
        Assert.Null(cmdlet.GetConnectionRequest().Provider); // -Provider's default does not leak into -Connection
    }

    [Fact]
    public void StopProcessing_cancels_the_token()
    {
        var cmdlet = new ProbeCmdlet();
        cmdlet.Begin();
        var token = cmdlet.Token;
        Assert.False(token.IsCancellationRequested);
        cmdlet.Stop();
        Assert.True(token.IsCancellationRequested);
        cmdlet.Dispose();
    }

    [Fact]
    public async Task Stopping_ends_running_engine_work_with_OperationCanceled()
    {
        var cmdlet = new ProbeCmdlet();
        cmdlet.Begin();
        var stopper = Task.Run(async () => { await Task.Delay(100); cmdlet.Stop(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            cmdlet.PipelineDispatcher.Run(async () => { await Task.Delay(Timeout.Infinite, cmdlet.Token); return 0; }));
        await stopper;
    }

    [Fact]
    public void Progress_reports_run_on_the_pipeline_thread()
    {
        var cmdlet = new ProbeCmdlet();
        var pipelineThread = Environment.CurrentManagedThreadId;
        var seen = new List<(int Value, int Thread)>();
        var progress = cmdlet.Progress(v => seen.Add((v, Environment.CurrentManagedThreadId)));
        var result = cmdlet.PipelineDispatcher.Run(async () =>
        {
            await Task.Yield();
            for (var i = 1; i <= 3; i++) { await Task.Delay(10).ConfigureAwait(false); progress.Report(i); }
            return "done";
        });
        Assert.Equal("done", result);
        Assert.Equal([1, 2, 3], seen.Select(s => s.Value));
        Assert.All(seen, s => Assert.Equal(pipelineThread, s.Thread));
    }

    [Fact]
    public void Engine_work_can_ask_the_pipeline_thread_and_wait_for_the_answer()
    {
        var dispatcher = new PartitionOps.PowerShell.Infrastructure.PipelineDispatcher();
        var pipelineThread = Environment.CurrentManagedThreadId;
        var answeredOn = dispatcher.Run(async () =>
        {
            await Task.Delay(10).ConfigureAwait(false);
            Assert.NotEqual(pipelineThread, Environment.CurrentManagedThreadId);
            return dispatcher.Invoke(() => Environment.CurrentManagedThreadId);
        });
        Assert.Equal(pipelineThread, answeredOn);
        // Outside Run there is nobody to answer: fail instead of hanging.
        Exception? outside = null;
        var thread = new Thread(() => { try { dispatcher.Invoke(() => 1); } catch (Exception e) { outside = e; } });
        thread.Start();
        thread.Join();
        Assert.IsType<InvalidOperationException>(outside);
    }

    [Fact]
    public void Secrets_of_parameters_and_of_a_piped_connection_are_scrubbed()
    {
        var withPassword = new ProbeCmdlet { ConnectionString = "Host=pg01;Username=po;Password=Hunter2xyz", Provider = "postgresql",
            AccessToken = Secure("eyJ.token.sig") };
        Assert.Equal("login *** failed for *** on pg01", withPassword.ScrubText("login Hunter2xyz failed for eyJ.token.sig on pg01"));

        var connection = withPassword.Resolve();
        var piped = new ProbeCmdlet { Connection = connection };
        Assert.Contains("Hunter2xyz", piped.SecretList);
        Assert.Contains("eyJ.token.sig", piped.SecretList);
        Assert.DoesNotContain("Hunter2xyz", piped.ScrubText("password Hunter2xyz rejected"));
    }

    [Fact]
    public void Run_awaits_async_work_and_returns_its_result()
    {
        var cmdlet = new ProbeCmdlet();
        Assert.Equal(42, cmdlet.RunWork(async ct => { await Task.Delay(20, ct); return 42; }));
        Assert.True(cmdlet.RunAction(ct => Task.Delay(10, ct)));
    }

    [Fact]
    public void Run_turns_a_failure_into_an_error_and_returns_default()
    {
        // The stub's WriteError does nothing; in a host this is a non-terminating error record.
        var cmdlet = new ProbeCmdlet();
        Assert.Equal(0, cmdlet.RunWork<int>(_ => throw new PartitionOpsException("merge failed")));
        Assert.False(cmdlet.RunAction(async _ => { await Task.Yield(); throw new PartitionOpsException("merge failed"); }));
    }

    [Fact]
    public void Error_records_can_be_built_without_a_host()
    {
        var cmdlet = new ProbeCmdlet { SqlInstance = "sql01", SqlCredential = null };
        Assert.NotNull(cmdlet.Record(new InvalidRequestException("-Table", "x;drop", "is not a valid identifier"), "x;drop"));
    }
}
