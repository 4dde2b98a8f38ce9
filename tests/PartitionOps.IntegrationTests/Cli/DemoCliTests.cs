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
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.GetProperty("dataDirectory").ValueKind);
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
    public async Task Demo_keep_leaves_the_server_running_and_prints_a_connection_string_that_works()
    {
        var run = await CliRun.RunAsync("demo", "--rows", "3000", "--types", "10", "--keep", "--json");
        var doc = run.ExitCode == 0 ? run.Json() : default;
        var dataDirectory = run.ExitCode == 0 ? doc.GetProperty("dataDirectory").GetString() : null;
        try
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            var connectionString = doc.GetProperty("connectionString").GetString();
            Assert.False(string.IsNullOrEmpty(connectionString), run.ToString());
            Assert.Contains("server left running", run.Stderr);
            Assert.Contains(connectionString!, run.Stderr);
            Assert.Contains("pg_ctl -D " + dataDirectory, run.Stderr);

            // The printed connection string reaches the demo's data: every system row moved by the backfill.
            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand("""SELECT count(*) FROM "Resource" WHERE "PartitionId" = 1""", connection);
            Assert.Equal(doc.GetProperty("sections").GetProperty("backfill").GetProperty("systemRows").GetInt64(),
                (long)(await count.ExecuteScalarAsync())!);
            // ... and the command line works against it as the hint says.
            var progress = await CliRun.BackfillAsync("progress", connectionString!, "--json");
            Assert.True(progress.ExitCode == 0, progress.ToString());
            Assert.Equal("done", progress.Json().GetProperty("status").GetString());
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            if (dataDirectory != null) await StopKeptServerAsync(dataDirectory);
        }
        Assert.False(Directory.Exists(dataDirectory), $"{dataDirectory} was left behind");
    }

    /// <summary>What the demo tells the user to do: pg_ctl -D DIR stop (as the postgres user when root); then remove its folder.</summary>
    private static async Task StopKeptServerAsync(string dataDirectory)
    {
        var pgCtl = Path.Combine(PartitionOps.Demo.ThrowawayPostgres.FindBinDirectory()!, "pg_ctl");
        var root = Environment.UserName == "root";
        var psi = new System.Diagnostics.ProcessStartInfo(root ? "runuser" : pgCtl) { RedirectStandardOutput = true,
            RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (root ? new[] { "-u", "postgres", "--", pgCtl } : []).Concat(["-D", dataDirectory, "-m", "fast", "-w", "stop"]))
            psi.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"pg_ctl stop: {await stdout} {await stderr}");
        Directory.Delete(Path.GetDirectoryName(dataDirectory)!, recursive: true);
    }

    [Fact]
    public async Task Bad_demo_options_are_exit_2()
    {
        var run = await CliRun.RunAsync("demo", "--rows", "0", "--json");
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal("--rows", run.Json().GetProperty("error").GetProperty("parameter").GetString());
    }
}
