using System.CommandLine;
using PartitionOps.Cli.Commands;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;

namespace PartitionOps.IntegrationTests.Cli.Ilm;

/// <summary>ilm run / health / simulate options -> the engine's requests, without a database.</summary>
public sealed class IlmOptionMappingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ilmopts").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static IlmHealthThresholds Health(params string[] args)
    {
        var command = new Command("health");
        var options = new IlmCommands.HealthThresholdOptions();
        options.AddTo(command);
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        return options.Apply(parse);
    }

    private static PartitionOps.Engine.Ilm.Execution.IlmConfigOverrides Run(params string[] args)
    {
        var command = new Command("run");
        var options = new IlmCommands.ConfigOverrideOptions();
        options.AddTo(command);
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        return options.Apply(parse);
    }

    [Fact]
    public void Health_thresholds_not_given_keep_the_spec_values()
    {
        Assert.Equal(new IlmHealthThresholds(), Health());
    }

    [Fact]
    public void The_three_success_criteria_are_options()
    {
        var t = Health("--max-warm-monthly-percent", "10", "--min-success-rate", "99.5", "--max-average-merge-seconds", "12");
        Assert.Equal((10m, 99.5m, 12m), (t.MaxWarmMonthlyPercent, t.MinSuccessRatePercent, t.MaxAverageMergeSeconds));
        // The alerts' options are unchanged.
        var alerts = Health("--window-days", "30", "--max-failure-rate", "5", "--max-merge-seconds", "60", "--max-warm-monthly", "12",
            "--failed-not-retried-days", "3");
        Assert.Equal((30, 5m, 60m, 12, 3),
            (alerts.WindowDays, alerts.MaxFailureRatePercent, alerts.MaxMergeSeconds, alerts.MaxWarmMonthlyPartitions,
            alerts.FailedNotRetriedDays));
    }

    [Theory]
    [InlineData("--min-success-rate", "150")]
    [InlineData("--max-warm-monthly-percent", "-1")]
    [InlineData("--max-average-merge-seconds", "-5")]
    [InlineData("--max-merge-seconds", "-1")]
    [InlineData("--max-warm-monthly", "-1")]
    [InlineData("--max-failure-rate", "101")]
    [InlineData("--window-days", "0")]
    public void A_bad_threshold_names_its_option(string option, string value)
    {
        var e = Assert.Throws<InvalidRequestException>(() => Health(option, value));
        Assert.Equal(option, e.Parameter);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public void Run_overrides_auto_merge_and_retry_failed()
    {
        var none = Run();
        Assert.Equal((null, null, null, null), (none.AutoMergePartitions, none.RetryFailed, none.MaxMerges, none.LockTimeoutSeconds));
        var off = Run("--auto-merge", "N", "--retry-failed", "n");
        Assert.Equal((false, false), (off.AutoMergePartitions, off.RetryFailed));
        var on = Run("--auto-merge", "yes", "--retry-failed", "Y", "--max-merges", "3", "--lock-timeout", "10");
        Assert.Equal((true, true, 3, 10), (on.AutoMergePartitions, on.RetryFailed, on.MaxMerges, on.LockTimeoutSeconds));
    }

    [Theory]
    [InlineData("--auto-merge", "maybe")]
    [InlineData("--retry-failed", "")]
    [InlineData("--max-merges", "-1")]
    [InlineData("--lock-timeout", "0")]
    public void A_bad_override_names_its_option(string option, string value)
    {
        var e = Assert.Throws<InvalidRequestException>(() => Run(option, value));
        Assert.Equal(option, e.Parameter);
    }

    [Fact]
    public async Task A_bad_threshold_is_exit_2_before_any_connection()
    {
        var run = await CliRun.RunAsync("ilm", "health", "--provider", "postgresql",
            "--connection", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=3", "--min-success-rate", "150",
                "--json");
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal("--min-success-rate", run.Json().GetProperty("error").GetProperty("parameter").GetString());
        var bad = await CliRun.RunAsync("ilm", "run", "--table", "sales", "--provider", "postgresql",
            "--connection", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=3", "--auto-merge", "perhaps",
                "--json");
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Equal(("--auto-merge", "perhaps"), (bad.Json().GetProperty("error").GetProperty("parameter").GetString(),
            bad.Json().GetProperty("error").GetProperty("value").GetString()));
    }

    // ---- simulate: whose merge costs

    private string LayoutFile(string? provider)
    {
        var layout = new PartitionLayout
        {
            Provider = provider,
            Schema = "CMR",
            Table = "SALES_PART",
            Partitions =
            [
                new PartitionInfo { Name = "P_2023", Position = 1, UpperBound = new DateTime(2023, 11, 1), Tablespace = "TBS_WARM",
                    RowEstimate = 1000 },
                new PartitionInfo { Name = "P_2023_11", Position = 2, UpperBound = new DateTime(2023, 12, 1), Tablespace = "TBS_HOT",
                    RowEstimate = 100 },
                new PartitionInfo { Name = "P_2023_12", Position = 3, UpperBound = new DateTime(2024, 1, 1), Tablespace = "TBS_HOT",
                    RowEstimate = 100 },
            ],
        };
        var path = Path.Combine(_folder, $"layout-{provider ?? "none"}.json");
        LayoutJson.Save(layout, path);
        return path;
    }

    [Fact]
    public async Task Simulate_takes_the_costs_of_the_provider_the_layout_names_and_says_so()
    {
        var file = LayoutFile("postgresql");
        var run = await CliRun.RunAsync("ilm", "simulate", "--layout", file, "--from", "2025-12-01", "--to", "2026-02-01", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(("postgresql", "the layout file"),
            (run.Json().GetProperty("provider").GetString(), run.Json().GetProperty("costsFrom").GetString()));

        var chosen = await CliRun.RunAsync("ilm", "simulate", "--layout", file, "--provider", "oracle", "--from", "2025-12-01", "--to",
            "2026-02-01", "--json");
        Assert.True(chosen.ExitCode == 0, chosen.ToString());
        Assert.Equal(("oracle", "--provider"),
            (chosen.Json().GetProperty("provider").GetString(), chosen.Json().GetProperty("costsFrom").GetString()));

        var human = await CliRun.RunAsync("ilm", "simulate", "--layout", file, "--from", "2025-12-01", "--to", "2026-02-01");
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("costs as on postgresql, from the layout file", human.Stdout);
    }

    [Fact]
    public async Task Simulate_of_a_layout_naming_no_provider_needs_provider()
    {
        var file = LayoutFile(null);
        var run = await CliRun.RunAsync("ilm", "simulate", "--layout", file, "--from", "2025-12-01", "--to", "2026-02-01", "--json");
        Assert.True(run.ExitCode == 2, run.ToString());
        var error = run.Json().GetProperty("error");
        Assert.Equal("--provider", error.GetProperty("parameter").GetString());
        Assert.Contains("oracle or postgresql", run.Stderr);

        var fixedUp = await CliRun.RunAsync("ilm", "simulate", "--layout", file, "--provider", "postgresql", "--from", "2025-12-01", "--to",
            "2026-02-01", "--json");
        Assert.True(fixedUp.ExitCode == 0, fixedUp.ToString());
    }
}
