using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using PartitionOps.Demo;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace PartitionOps.IntegrationTests.PowerShell;

/// <summary>One Pester test as tests/Pester/Invoke-PesterSuite.ps1 reports it.</summary>
public sealed record PesterTestResult(string File, string Name, string Result, string? Message);

/// <summary>
/// Runs tests/Pester/Invoke-PesterSuite.ps1 once for the whole class: in the pwsh that .config/dotnet-tools.json
/// pins (restored here, so a fresh clone needs nothing installed by hand), with the Pester the project downloads,
/// against PARTITIONOPS_TEST_POSTGRES or a throwaway cluster started here.
/// </summary>
public sealed class PesterSuiteFixture : IAsyncLifetime
{
    // The whole suite takes a few minutes on two cores; a hung pwsh must not hang CI.
    private static readonly TimeSpan SuiteTimeout = TimeSpan.FromMinutes(15);

    private readonly IMessageSink _sink;
    private ThrowawayPostgres? _cluster;

    public PesterSuiteFixture(IMessageSink sink) => _sink = sink;

    public IReadOnlyList<PesterTestResult> Results { get; private set; } = [];

    public int ExitCode { get; private set; } = -1;

    /// <summary>The pwsh run's console output, for failure messages.</summary>
    public string Log { get; private set; } = "";

    public static string RepoRoot { get; } = FindRepoRoot();

    public async Task InitializeAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable("PARTITIONOPS_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            _cluster = await ThrowawayPostgres.StartAsync();
            connectionString = _cluster.ConnectionString();
        }

        await RunAsync("dotnet", ["tool", "restore"], TimeSpan.FromMinutes(5));
        var resultPath = Path.Combine(Path.GetTempPath(), $"partitionops-pester-{Guid.NewGuid():N}.json");
        try
        {
            var (exitCode, output) = await RunAsync("dotnet",
                ["tool", "run", "pwsh", "--", "-NoProfile", "-NonInteractive", "-File",
                 Path.Combine(RepoRoot, "tests", "Pester", "Invoke-PesterSuite.ps1"),
                 "-ConnectionString", connectionString, "-PesterManifest", PesterManifest(), "-ResultPath", resultPath],
                SuiteTimeout, throwOnFailure: false);
            ExitCode = exitCode;
            Log = output;
            if (File.Exists(resultPath))
            {
                Results = JsonSerializer.Deserialize<List<PesterTestResult>>(await File.ReadAllTextAsync(resultPath)) ?? [];
            }
        }
        finally
        {
            File.Delete(resultPath);
        }

        // The counts, in the format .ci/run adds to its closing line (xunit diagnostic messages reach the console).
        _sink.OnMessage(new DiagnosticMessage(
            "Pester: {0} passed, {1} failed, {2} skipped",
            Results.Count(r => r.Result == "Passed"), Results.Count(r => r.Result == "Failed"),
            Results.Count(r => r.Result is "Skipped" or "NotRun")));
    }

    public async Task DisposeAsync()
    {
        if (_cluster != null) await _cluster.DisposeAsync();
    }

    private static string PesterManifest() =>
        typeof(PesterSuiteFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "PesterManifest").Value!;

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PartitionOps.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"PartitionOps.sln was not found above {AppContext.BaseDirectory}");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(
        string program, string[] args, TimeSpan timeout, bool throwOnFailure = true)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        start.Environment["NO_COLOR"] = "1";
        // The sample table the live backfill tests create comes from the demo assembly, which the module does not ship:
        // tests/Pester/Backfill.TestSupport.ps1 loads it from here into the module's load context.
        start.Environment["PARTITIONOPS_TEST_DEMO_ASSEMBLY"] = typeof(FhirSample).Assembly.Location;

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} ran longer than {timeout}:\n{output}");
        }
        if (throwOnFailure && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}:\n{output}");
        }
        lock (output) return (process.ExitCode, output.ToString());
    }
}
