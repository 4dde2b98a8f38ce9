namespace PartitionOps.IntegrationTests.PowerShell;

/// <summary>
/// The PowerShell suites as xunit cases: one per file of tests/Pester, each failing with the names and errors of
/// its failed Pester tests. Pester's own counts are printed as "Pester: N passed, N failed, N skipped".
/// </summary>
public sealed class PesterSuiteTests : IClassFixture<PesterSuiteFixture>
{
    private readonly PesterSuiteFixture _suite;

    public PesterSuiteTests(PesterSuiteFixture suite) => _suite = suite;

    public static TheoryData<string> TestFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(PesterSuiteFixture.RepoRoot, "tests", "Pester"), "*.Tests.ps1")
                     .Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            data.Add(file!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TestFiles))]
    public void Every_Pester_test_in_the_file_passes(string file)
    {
        var tests = _suite.Results.Where(r => r.File == file).ToList();
        Assert.True(tests.Count > 0, $"{file} reported no test (pwsh exit code {_suite.ExitCode}):\n{Tail(_suite.Log)}");

        var failed = tests.Where(t => t.Result == "Failed").Select(t => $"{t.Name}\n    {t.Message}").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {tests.Count} Pester tests failed in {file}:\n{string.Join("\n", failed)}");

        // A live context skipped for want of PostgreSQL would pass silently: there is always one here.
        var notRun = tests.Where(t => t.Result is "Skipped" or "NotRun").Select(t => t.Name).ToList();
        Assert.True(notRun.Count == 0, $"{notRun.Count} Pester tests did not run in {file}:\n{string.Join("\n", notRun)}");
    }

    [Fact]
    public void The_Pester_run_exits_cleanly()
    {
        Assert.True(_suite.ExitCode == 0, $"Invoke-PesterSuite.ps1 exited with {_suite.ExitCode}:\n{Tail(_suite.Log)}");
    }

    private static string Tail(string log, int lines = 60) =>
        string.Join("\n", log.Split('\n').TakeLast(lines));
}
