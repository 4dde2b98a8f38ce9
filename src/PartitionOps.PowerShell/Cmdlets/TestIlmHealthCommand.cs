using System.Management.Automation;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.PowerShell.Cmdlets;

/// <summary>
/// Test-IlmHealth: the spec's alerts (failure rate, longest merge, WARM monthly partitions, failed merges not
/// retried) and success criteria (WARM monthly share, success rate, average merge time) as one IlmHealthReport:
/// Passed, every check with its value and threshold, and the numbers behind them. Every threshold is a parameter.
/// Without -Table only the audit numbers are checked (no partition counts). For Pester validation suites.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "IlmHealth", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(IlmHealthReport))]
public sealed class TestIlmHealthCommand : IlmCmdlet
{
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TableName")]
    public string? Table { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TableOwner")]
    public string? Schema { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Policy { get; set; }

    /// <summary>Days of merge history the rates and durations cover; default 7.</summary>
    [Parameter] public int? WindowDays { get; set; }

    /// <summary>Alert when more than this percentage of merges failed; default 10.</summary>
    [Parameter] public decimal? MaxFailureRatePercent { get; set; }

    /// <summary>Alert when a merge took longer, seconds; default 300.</summary>
    [Parameter] public decimal? MaxMergeSeconds { get; set; }

    /// <summary>Alert when WARM holds more monthly partitions; default 100.</summary>
    [Parameter] public int? MaxWarmMonthlyPartitions { get; set; }

    /// <summary>Alert when a partition's last merge failed longer ago than this many days; default 7.</summary>
    [Parameter] public int? FailedNotRetriedDays { get; set; }

    /// <summary>Criterion: monthly partitions below this share of WARM, percent; default 20.</summary>
    [Parameter] public decimal? MaxWarmMonthlyPercent { get; set; }

    /// <summary>Criterion: merge success rate above this, percent; default 95.</summary>
    [Parameter] public decimal? MinSuccessRatePercent { get; set; }

    /// <summary>Criterion: average successful merge below this, seconds; default 30.</summary>
    [Parameter] public decimal? MaxAverageMergeSeconds { get; set; }

    /// <summary>
    /// Also verify every B-tree index of the table's partitions (needs -Table; PostgreSQL with amcheck and pageinspect): reads each
    /// index whole. A damaged index is an alert naming the index and the statement that repairs it; details in the report's Indexes.
    /// </summary>
    [Parameter] public SwitchParameter VerifyIndexes { get; set; }

    protected override string? PolicyParameter => Policy;

    protected internal override IlmParameters GetParameters() => base.GetParameters() with
    {
        Table = Table,
        Schema = Schema,
        WindowDays = WindowDays,
        MaxFailureRatePercent = MaxFailureRatePercent,
        MaxMergeSeconds = MaxMergeSeconds,
        MaxWarmMonthlyPartitions = MaxWarmMonthlyPartitions,
        FailedNotRetriedDays = FailedNotRetriedDays,
        MaxWarmMonthlyPercent = MaxWarmMonthlyPercent,
        MinSuccessRatePercent = MinSuccessRatePercent,
        MaxAverageMergeSeconds = MaxAverageMergeSeconds,
        VerifyIndexes = VerifyIndexes.IsPresent,
    };

    protected override void ProcessIlm()
    {
        var p = GetParameters();
        var report = RunEngine(ct => new IlmService().HealthAsync(IlmMapping.ToHealthRequest(Target, p), ct));
        if (report is null) return;
        foreach (var check in report.Checks.Where(c => !c.Passed))
            WriteVerbose($"{(check.Kind == "alert" ? "Alert" : "Missed criterion")}: {check.Name}: {check.Message}");
        WriteObject(report);
    }
}
