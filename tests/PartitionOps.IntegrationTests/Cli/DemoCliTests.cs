using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>`partitionops demo` end to end on its own throwaway server (kept small).</summary>
[Collection(PostgresCollection.Name)]
public sealed class DemoCliTests
{
    [Fact]
    public async Task The_demo_builds_a_sample_backfills_validates_runs_ilm_and_stops_its_server()
    {
        var run = await CliRun.RunAsync("demo", "--rows", "5000", "--types", "12", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var doc = run.Json();
        Assert.True(doc.GetProperty("passed").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.GetProperty("connectionString").ValueKind);
        var backfill = doc.GetProperty("sections").GetProperty("backfill");
        Assert.Equal("done", backfill.GetProperty("status").GetString());
        Assert.Equal(backfill.GetProperty("systemRows").GetInt64(), backfill.GetProperty("rowsUpdated").GetInt64());
        Assert.True(backfill.GetProperty("validation").GetProperty("passed").GetBoolean());
        var ilm = doc.GetProperty("sections").GetProperty("ilm");
        Assert.Equal(0, ilm.GetProperty("failedActions").GetInt32());
        Assert.False(ilm.GetProperty("workLeft").GetBoolean());
        Assert.Equal(ilm.GetProperty("expectedRows").GetInt64(), ilm.GetProperty("rows").GetInt64());
        Assert.True(ilm.GetProperty("partitionsMerged").GetInt32() > 0);
        Assert.Equal(5, ilm.GetProperty("steps").GetArrayLength());
        Assert.Equal(0, ilm.GetProperty("final").GetProperty("warm").GetProperty("monthly").GetInt32());
        Assert.True(ilm.GetProperty("rowsRewritten").GetInt64() > 0);
        Assert.Contains("server stopped", run.Stderr);
        var root = System.Text.RegularExpressions.Regex.Match(run.Stderr, @"server running in (\S+)").Groups[1].Value;
        Assert.False(Directory.Exists(root), $"{root} was left behind");
    }

    [Fact]
    public async Task Bad_demo_options_are_exit_2()
    {
        var run = await CliRun.RunAsync("demo", "--rows", "0", "--json");
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal("--rows", run.Json().GetProperty("error").GetProperty("parameter").GetString());
    }
}
