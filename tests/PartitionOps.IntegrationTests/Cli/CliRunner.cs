using System.Text.Json;
using PartitionOps.Cli;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>Runs `partitionops` in-process and captures what it wrote.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var code = await CliApp.RunAsync(args, stdout, stderr, timeout.Token);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>`backfill VERB --provider postgresql --connection CS ARGS...`.</summary>
    public static Task<CliRun> BackfillAsync(string verb, string connectionString, params string[] args) =>
        RunAsync(["backfill", verb, "--provider", "postgresql", "--connection", connectionString, .. args]);

    /// <summary>The single JSON document on stdout (parsing fails if there is anything else).</summary>
    public JsonElement Json()
    {
        try
        {
            using var document = JsonDocument.Parse(Stdout);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"stdout is not one JSON document ({e.Message}):\n{Stdout}\nstderr:\n{Stderr}");
        }
    }

    /// <summary>The built partitionops.dll, to run as a separate process.</summary>
    public static string FindDll()
    {
        var here = Path.Combine(AppContext.BaseDirectory, "partitionops.dll");
        if (File.Exists(here) && File.Exists(Path.Combine(AppContext.BaseDirectory, "partitionops.runtimeconfig.json"))) return here;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "PartitionOps.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var candidates = Directory.GetFiles(Path.Combine(dir.FullName, "src", "PartitionOps.Cli", "bin"), "partitionops.dll",
            SearchOption.AllDirectories);
        Assert.NotEmpty(candidates);
        return candidates.OrderByDescending(File.GetLastWriteTimeUtc).First();
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
