using System.Globalization;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm;

/// <summary>Which table, where. Schema null = the provider's default (public, or the connected user on Oracle).</summary>
public sealed record IlmTableRequest(DatabaseTarget Target, string Table)
{
    public string? Schema { get; init; }

    /// <summary>--control-schema; null = partitionops on PostgreSQL, the connected user on Oracle.</summary>
    public string? ControlSchema { get; init; }
}

/// <summary>
/// ilm plan: live (<see cref="Target"/> + <see cref="Table"/>, reading layout and config from the
/// database) or offline (<see cref="Layout"/> + <see cref="Provider"/> choosing whose SQL to show).
/// </summary>
public sealed record IlmPlanRequest
{
    public DatabaseTarget? Target { get; init; }
    public string? Table { get; init; }
    public string? Schema { get; init; }
    public string? ControlSchema { get; init; }

    /// <summary>--layout FILE: plan from a snapshot, without a database.</summary>
    public PartitionLayout? Layout { get; init; }

    /// <summary>Offline: whose statements to show (--provider). Live plans use the target's provider.</summary>
    public IDatabaseProvider? Provider { get; init; }

    public IlmPolicy Policy { get; init; } = IlmPolicy.Default;

    /// <summary>--as-of; null = today (UTC).</summary>
    public DateOnly? AsOf { get; init; }

    public IlmConfigOverrides Overrides { get; init; } = new();
}

/// <summary>ilm run / Invoke-IlmPartitionMerge.</summary>
public sealed record IlmRunRequest(DatabaseTarget Target, string Table)
{
    public string? Schema { get; init; }
    public string? ControlSchema { get; init; }
    public IlmPolicy Policy { get; init; } = IlmPolicy.Default;
    public DateOnly? AsOf { get; init; }
    public IlmConfigOverrides Overrides { get; init; } = new();

    /// <summary>--dry-run / -WhatIf: plan and show the statements, change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>
    /// Run only these actions of the table's plan (`--only-partition P`, Invoke-IlmPartitionMerge); null runs the whole
    /// plan. The table is planned as usual and only the chosen work runs (the dry run shows only its SQL). A choice
    /// that is not in the plan, or that depends on an action not chosen (an earlier month of the same merge, the merge
    /// completing the year a January starts after), is <see cref="InvalidRequestException"/> naming it, before
    /// anything is written; nothing is added on its own. A choice is explicit, so AUTO_MERGE_PARTITIONS = N and
    /// MERGE_RETRY_FAILED = N do not hold it back; MAX_MERGES_PER_RUN caps the chosen merges. See <see cref="IlmActionSelector"/>.
    /// </summary>
    public IReadOnlyList<IlmActionKey>? Only { get; init; }

    /// <summary>
    /// --max-duration: no new action starts after this long (the one running finishes), so a
    /// scheduled job stops cleanly before its host kills it; the next run carries on. Null = no limit.
    /// </summary>
    public TimeSpan? MaxDuration { get; init; }
}

/// <summary>ilm history: audit rows, newest first; Table null = every table.</summary>
public sealed record IlmHistoryRequest(DatabaseTarget Target)
{
    public string? Table { get; init; }
    public string? Schema { get; init; }
    public string? ControlSchema { get; init; }
    public int MaxRows { get; init; } = 100;
}

/// <summary>ilm health / Test-IlmHealth: Table null = audit numbers only (no partition counts).</summary>
public sealed record IlmHealthRequest(DatabaseTarget Target)
{
    public string? Table { get; init; }
    public string? Schema { get; init; }
    public string? ControlSchema { get; init; }
    public IlmPolicy Policy { get; init; } = IlmPolicy.Default;
    public IlmHealthThresholds Thresholds { get; init; } = new();

    /// <summary>
    /// Also verify every B-tree index of every partition of <see cref="Table"/> (needs Table): reads each index whole, so
    /// opt-in. Finds indexes damaged by an earlier version's rolled-back merge and names the statement that repairs each.
    /// </summary>
    public bool VerifyIndexes { get; init; }
}

/// <summary>ilm simulate: offline, from a layout.</summary>
public sealed record IlmSimulateRequest(PartitionLayout Layout, DateOnly From, DateOnly To)
{
    public IlmPolicy Policy { get; init; } = IlmPolicy.Default;

    /// <summary>Strategies to compare; null = incremental and year_complete.</summary>
    public IReadOnlyList<MergeStrategy>? Strategies { get; init; }

    /// <summary>Whose engine's costs to count (Oracle rewrites the yearly partition on every merge); null = Oracle's.</summary>
    public IDatabaseProvider? Provider { get; init; }

    /// <summary>Rows of each new month; null = the median of the layout's monthly partitions.</summary>
    public long? RowsPerNewMonth { get; init; }
}

public sealed record IlmConfigRequest(DatabaseTarget Target)
{
    public string? ControlSchema { get; init; }
}

public sealed record IlmSetConfigRequest(DatabaseTarget Target, string Key, string Value)
{
    public string? ControlSchema { get; init; }
    public string? Description { get; init; }
}

/// <summary>The plan with the exact statements each action runs, and the config it was made with.</summary>
public sealed record IlmPlanResult(
    PartitionLayout Layout,
    IlmPlan Plan,
    IReadOnlyList<PlannedAction> Steps,
    IlmConfig Config,
    string Provider)
{
    /// <summary>Statements run first on the connection (the lock timeout).</summary>
    public IReadOnlyList<SqlStatement> SessionSetup { get; init; } = [];
}

/// <summary>What a run did; <see cref="Failed"/> &gt; 0 means exit code 1.</summary>
public sealed record IlmRunResult(
    IlmPlanResult Plan,
    IReadOnlyList<ActionOutcome> Outcomes,
    IReadOnlyList<ReconcileDecision> Reconciled,
    bool DryRun)
{
    /// <summary>Actions of the plan not started because --max-duration was reached.</summary>
    public IReadOnlyList<IlmAction> NotStarted { get; init; } = [];

    /// <summary>
    /// The chosen actions when the run was limited to them (<see cref="IlmRunRequest.Only"/>); null for a whole-plan run.
    /// </summary>
    public IReadOnlyList<IlmActionKey>? Only { get; init; }

    public bool StoppedEarly => NotStarted.Count > 0;

    /// <summary>
    /// What failed runs of ours had left on the table (a rebuild table, a temporary constraint), dropped before planning.
    /// </summary>
    public IReadOnlyList<string> LeftoversDropped { get; init; } = [];

    /// <summary>Rows the successful actions wrote, counted; null when any of them was not counted (unknown, not an estimate).</summary>
    public long? RowsWritten => Outcomes.Where(o => o.Status == IlmStatus.Success && o.Action is MergeAction or MoveAction)
        .Aggregate((long?)0, (sum, o) => sum is { } s && o.RowsWritten is { } n ? s + n : null);

    public int Succeeded => Outcomes.Count(o => o.Status == IlmStatus.Success);
    public int Failed => Outcomes.Count(o => o.Status == IlmStatus.Failed);
    /// <summary>
    /// Rows of the months merged in by the successful merges (<see cref="ActionOutcome.RowsMerged"/>, exact counts),
    /// not the rows of the partitions they grew: a month of N rows merged into a yearly partition of M rows is N.
    /// </summary>
    public long RowsMerged => Outcomes.Where(o => o.Action is MergeAction && o.Status == IlmStatus.Success).Sum(o => o.RowsMerged ?? 0);
}

public static class IlmInput
{
    /// <summary>
    /// The run dates we accept. Tiers count back up to <see cref="IlmPolicy.MaxAgeMonths"/> (100 years) from the as-of date
    /// and a simulation steps up to 100 years forward, so both stay inside what .NET (DateTime from year 1),
    /// Oracle DATE and TIMESTAMP (to 9999-12-31), SQL Server datetime2 and PostgreSQL date hold.
    /// </summary>
    public static readonly DateOnly MinDate = new(1900, 1, 1);
    public static readonly DateOnly MaxDate = new(9799, 12, 31);

    /// <summary>Parses --as-of (YYYY-MM-DD); anything else is bad input naming the value.</summary>
    public static DateOnly ParseAsOf(string? text, string parameter = nameof(IlmRunRequest.AsOf))
    {
        if (string.IsNullOrWhiteSpace(text)) throw new InvalidRequestException(parameter, text ?? "", "is empty: use YYYY-MM-DD");
        return !text.Any(char.IsControl)
               && DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            ? CheckDate(d, parameter, text)
            : throw new InvalidRequestException(parameter, text, "is not a date: use YYYY-MM-DD");
    }

    /// <summary>Throws unless <paramref name="date"/> lies from <see cref="MinDate"/> to <see cref="MaxDate"/>.</summary>
    public static DateOnly CheckDate(DateOnly date, string parameter, object? shown = null)
    {
        if (date < MinDate || date > MaxDate)
            throw new InvalidRequestException(parameter, shown ?? date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                $"is outside the dates we plan for ({MinDate:yyyy-MM-dd} to {MaxDate:yyyy-MM-dd}): " +
                "tiers count back up to 100 years from it");
        return date;
    }

    /// <summary>Y/N (also yes/no, true/false, 1/0, any case) for a switch option; null when not given; else bad input naming it.</summary>
    public static bool? ParseYesNo(string? text, string parameter) =>
        (text is not null && text.Any(char.IsControl) ? "?" : text?.Trim().ToUpperInvariant()) switch
    {
        null => null,
        "Y" or "YES" or "TRUE" or "1" => true,
        "N" or "NO" or "FALSE" or "0" => false,
        _ => throw new InvalidRequestException(parameter, text, "must be Y or N"),
    };

    /// <summary>
    /// Whose merge costs an offline simulation uses (Oracle rewrites the growing yearly partition, PostgreSQL copies only
    /// the months; interval and index-organized tables merge pairwise): <paramref name="providerOption"/> (the request's
    /// provider), else the provider the layout file names (`ilm snapshot` writes it). A layout naming none without a
    /// provider is bad input, rather than silently costed as Oracle. Source is a key, not a front end's name:
    /// nameof(IlmSimulateRequest.Provider) or nameof(IlmPlanRequest.Layout), which each front end shows as its own
    /// option or parameter.
    /// </summary>
    public static (IDatabaseProvider Provider, string Source) CostsProvider(string? providerOption, PartitionLayout layout,
        string layoutSource = "layout")
    {
        if (!string.IsNullOrWhiteSpace(providerOption)) return (ProviderRegistry.Get(providerOption), nameof(IlmSimulateRequest.Provider));
        if (string.IsNullOrWhiteSpace(layout.Provider))
            throw new InvalidRequestException(nameof(DatabaseTarget.Provider), "",
                $"is required: the layout {layoutSource} names no provider, and merge costs differ (use oracle or postgresql)");
        try
        {
            return (ProviderRegistry.Get(layout.Provider), nameof(IlmPlanRequest.Layout));
        }
        catch (InvalidRequestException)
        {
            throw new InvalidRequestException(nameof(IlmPlanRequest.Layout), layoutSource,
                $"names provider '{layout.Provider}', which is not known: name the provider (oracle or postgresql)");
        }
    }
}
