using System.Text.Json;
using PartitionOps.Cli;
using PartitionOps.Cli.Output;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>The output layer without a database: plain progress throttling, JSON shape, exit-code mapping.</summary>
public sealed class OutputTests
{
    private static (CliOutput Output, StringWriter Stdout, StringWriter Stderr) Create(bool json)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        return (new CliHost(stdout, stderr, false, false).CreateOutput(json, CancellationToken.None), stdout, stderr);
    }

    private static TypeProgress Type(string status, long scanned) =>
        new() { TypeName = "ValueSet", TypeId = 4, Status = status, RowsScanned = scanned, RowsUpdated = scanned, EstimatedRows = 1000 };

    [Fact]
    public async Task Plain_progress_prints_phase_events_status_changes_and_at_most_one_line_per_type_every_two_seconds()
    {
        var (output, stdout, stderr) = Create(json: false);
        Assert.False(output.UseProgressBars);
        var result = await ProgressRenderer.RunAsync(output, events =>
        {
            events.Report(new BackfillEvent("column", "added PartitionId"));
            for (var i = 1; i <= 100; i++) events.Report(new BackfillEvent("backfill", "batch", Type(BackfillStatus.Running, i * 10)));
            events.Report(new BackfillEvent("backfill", "done", Type(BackfillStatus.Done, 1000)));
            return Task.FromResult(42);
        });

        Assert.Equal(42, result);
        Assert.Equal("", stdout.ToString());
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("column: added PartitionId", lines[0]);
        Assert.Contains("ValueSet running: 10/1,000 rows", lines[1]);
        Assert.Contains("ValueSet done: 1,000/1,000 rows", lines[2]);
    }

    [Fact]
    public void Json_is_camel_case_with_enums_as_strings_and_durations_as_hh_mm_ss()
    {
        var (output, stdout, stderr) = Create(json: true);
        output.Result(new { Direction = BackfillDirection.Undo, Elapsed = TimeSpan.FromHours(26.5), Eta = (TimeSpan?)null },
            _ => throw new InvalidOperationException());
        using var doc = JsonDocument.Parse(stdout.ToString());
        Assert.Equal("undo", doc.RootElement.GetProperty("direction").GetString());
        Assert.Equal("26:30:00", doc.RootElement.GetProperty("elapsed").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("eta").ValueKind);
        Assert.Equal("", stderr.ToString());
    }

    [Theory]
    [InlineData("invalid", 2, "invalid-input")]
    [InlineData("failed", 1, "failed")]
    [InlineData("cancelled", 1, "cancelled")]
    [InlineData("unexpected", 1, "unexpected")]
    public void Failures_map_to_exit_codes_and_one_json_error(string which, int code, string kind)
    {
        Exception e = which switch
        {
            "invalid" => new InvalidRequestException("--schema", "nosuch", "does not exist"),
            "failed" => new PartitionOpsException("could not connect"),
            "cancelled" => new OperationCanceledException(),
            _ => new InvalidOperationException("boom"),
        };
        var (output, stdout, stderr) = Create(json: true);

        Assert.Equal(code, output.Fail(e));
        using var doc = JsonDocument.Parse(stdout.ToString());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(kind, error.GetProperty("kind").GetString());
        Assert.Contains("error:", stderr.ToString());
        if (which == "invalid")
        {
            Assert.Equal("--schema", error.GetProperty("parameter").GetString());
            Assert.Equal("nosuch", error.GetProperty("value").GetString());
        }
    }

    [Fact]
    public void The_run_summary_labels_the_rate_as_phase_3_and_shows_both_times()
    {
        var (output, stdout, _) = Create(json: false);
        var result = new BackfillResult
        {
            Status = BackfillStatus.Done, RunId = 7,
            Types = [Type(BackfillStatus.Done, 60_000)],
            Elapsed = TimeSpan.FromMinutes(10), Phase3Elapsed = TimeSpan.FromMinutes(1), Phase3RowsScanned = 60_000,
        };
        Tables.Run(output.Human, result, "backfill");
        Assert.Contains("phase 3 1,000 rows/s walked over 00:01:00, 00:10:00 in all", stdout.ToString());
    }

    [Theory]
    [InlineData(BackfillStatus.Done, null, 0)]
    [InlineData(BackfillStatus.Planned, null, 0)]
    [InlineData(BackfillStatus.Paused, "max duration 00:00:01 reached", 0)]
    [InlineData(BackfillStatus.Paused, "stop requested", 0)]
    [InlineData(BackfillStatus.Paused, "cancelled", 1)]
    [InlineData(BackfillStatus.Failed, "ValueSet failed: boom", 1)]
    public void Run_results_map_to_the_contract_exit_codes(string status, string? reason, int code) =>
        Assert.Equal(code, ExitCodes.ForRun(new BackfillResult { Status = status, StopReason = reason }));
}
