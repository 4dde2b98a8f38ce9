using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.PowerShell.Backfill;

/// <summary>
/// Base of the backfill cmdlets: -Profile, -Schema, -ControlSchema, and the pipeline rule. Records are
/// collected in ProcessRecord and worked in EndProcessing, one engine call per connection: piped rows
/// that only carry a ResourceType (Import-Csv types.csv) form one run over all their types, while piped
/// connections each get their own call.
/// </summary>
public abstract class BackfillCmdlet : PartitionOpsCmdlet
{
    private readonly List<Batch> _batches = [];
    private string? _profilePath;

    /// <summary>"fhir" (default) or the path of a JSON profile naming another table, columns and types.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Profile { get; set; }

    /// <summary>Schema of the table; default: the profile's, else dbo (SQL Server) / public (PostgreSQL).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Schema { get; set; }

    /// <summary>Schema of PartitionOps' control tables; default partitionops.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ControlSchema { get; set; }

    /// <summary>The resource types of the current pipeline record (none for table-wide cmdlets).</summary>
    protected virtual IEnumerable<string>? RecordResourceTypes => null;

    /// <summary>What errors name as their target: the connection, never a raw connection string.</summary>
    protected object? ErrorTarget => (object?)Connection ?? SqlInstance ?? ConnectionStrings.Redact(ConnectionString);

    /// <summary>Parameters of this invocation, host-free; <paramref name="resourceTypes"/> null: the -ResourceType given.</summary>
    protected internal virtual BackfillParameters GetParameters(IReadOnlyList<string>? resourceTypes = null) => new()
    {
        Profile = _profilePath ?? Profile,
        Schema = Schema,
        ControlSchema = ControlSchema,
        ResourceType = resourceTypes ?? BackfillMapping.ResourceTypes(RecordResourceTypes),
    };

    /// <summary>The scope (table, profile, types) on the current connection.</summary>
    protected BackfillScope CreateScope(IReadOnlyList<string> resourceTypes) =>
        BackfillMapping.ToScope(Target, GetParameters(resourceTypes));

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        // A relative profile path is relative to PowerShell's location, not the process's directory. The built-in
        // names are not paths: resolved, "fhir-prototype" became a file that does not exist.
        if (!string.IsNullOrWhiteSpace(Profile) && !Profile.Equals(BackfillProfile.Fhir.Name, StringComparison.OrdinalIgnoreCase)
            && !Profile.Equals(BackfillProfile.FhirPrototype.Name, StringComparison.OrdinalIgnoreCase))
            _profilePath = GetUnresolvedProviderPathFromPSPath(Profile);
    }

    protected override void ProcessRecord()
    {
        var piped = Connection;
        var connection = RunSync(ErrorTarget, _ => ResolveConnection());
        if (connection is null) return;
        var last = _batches.Count > 0 ? _batches[^1] : null;
        if (last is null || !ReferenceEquals(last.Connection, connection))
            _batches.Add(last = new Batch(connection, piped != null));
        last.ResourceTypes.AddRange(RecordResourceTypes?.Where(t => t != null) ?? []);
    }

    protected override void EndProcessing()
    {
        foreach (var batch in _batches)
        {
            if (CancellationToken.IsCancellationRequested) break;
            // Target, Secrets and the error classifier follow the connection of this batch.
            if (batch.FromConnectionParameter) Connection = batch.Connection;
            ProcessBackfill(BackfillMapping.ResourceTypes(batch.ResourceTypes));
        }
    }

    /// <summary>Does the work for one connection; <paramref name="resourceTypes"/> empty: all of the profile's system types.</summary>
    protected abstract void ProcessBackfill(IReadOnlyList<string> resourceTypes);

    /// <summary><see cref="PartitionOpsCmdletBase.Run{T}"/> whose bad-input errors name the cmdlet parameters (-BatchSize, not --batch-size).</summary>
    protected T? RunEngine<T>(Func<CancellationToken, Task<T>> work) =>
        Run(ErrorTarget, async ct =>
        {
            try { return await work(ct).ConfigureAwait(false); }
            catch (InvalidRequestException e) { throw BackfillMapping.Translate(e); }
        });

    /// <summary>The target of -WhatIf / -Confirm: the table and where it lives, without secrets.</summary>
    protected string DescribeTarget(string table)
    {
        var c = ResolveConnection();
        var where = c.Server is null ? c.Provider : $"{c.Provider} {c.Server}" + (c.Database is null ? "" : "/" + c.Database);
        return $"{table} ({where})";
    }

    private sealed class Batch(PartitionOpsConnection connection, bool fromConnectionParameter)
    {
        public PartitionOpsConnection Connection { get; } = connection;
        public bool FromConnectionParameter { get; } = fromConnectionParameter;
        public List<string> ResourceTypes { get; } = [];
    }
}

/// <summary>Adds -ResourceType, bindable by property name so that a CSV of types (or Get-BackfillProgress output) pipes in.</summary>
public abstract class BackfillScopeCmdlet : BackfillCmdlet
{
    /// <summary>System types to work on (names as in the lookup table); default: all of the profile's system types.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TypeName")]
    public string[]? ResourceType { get; set; }

    protected override IEnumerable<string>? RecordResourceTypes => ResourceType;
}

/// <summary>
/// Adds the batch and throttle parameters of a run, and runs Start / Undo: a dry run gives the plan,
/// ShouldProcess shows its SQL, then the real run writes one Write-Progress bar per resource type.
/// </summary>
public abstract class BackfillRunCmdlet : BackfillScopeCmdlet
{
    [Parameter] public int? BatchSize { get; set; }
    [Parameter] public int? TargetBatchMilliseconds { get; set; }
    [Parameter] public int? DelayMilliseconds { get; set; }
    [Parameter] public int? Parallel { get; set; }
    [Parameter] public TimeSpan? MaxDuration { get; set; }
    [Parameter] public int? LockTimeoutMilliseconds { get; set; }
    [Parameter] public int? DdlLockTimeoutMilliseconds { get; set; }
    [Parameter] public string? ThrottleQuery { get; set; }
    [Parameter] public double? MaxReplicaLagSeconds { get; set; }
    [Parameter] public double? MaxLogUsedPercent { get; set; }
    [Parameter] public double? MaxBlockedSessions { get; set; }

    /// <summary>Throttle limits to switch off (not checked): ReplicaLag, LogUsed, BlockedSessions.</summary>
    [Parameter]
    [ValidateSet("ReplicaLag", "LogUsed", "BlockedSessions", IgnoreCase = true)]
    public string[]? DisableThrottle { get; set; }

    protected internal override BackfillParameters GetParameters(IReadOnlyList<string>? resourceTypes = null) => base.GetParameters(resourceTypes) with
    {
        BatchSize = BatchSize,
        TargetBatchMilliseconds = TargetBatchMilliseconds,
        DelayMilliseconds = DelayMilliseconds,
        Parallel = Parallel,
        MaxDuration = MaxDuration,
        LockTimeoutMilliseconds = LockTimeoutMilliseconds,
        DdlLockTimeoutMilliseconds = DdlLockTimeoutMilliseconds,
        ThrottleQuery = ThrottleQuery,
        MaxReplicaLagSeconds = MaxReplicaLagSeconds,
        MaxLogUsedPercent = MaxLogUsedPercent,
        MaxBlockedSessions = MaxBlockedSessions,
        DisableThrottle = DisableThrottle,
    };

    /// <summary>The engine call: StartAsync or UndoAsync.</summary>
    protected abstract Task<BackfillResult> ExecuteAsync(BackfillService service, BackfillRequest request, IProgress<BackfillEvent>? events, CancellationToken ct);

    /// <summary>What -WhatIf / -Confirm call the operation.</summary>
    protected abstract string Operation { get; }

    protected override void ProcessBackfill(IReadOnlyList<string> resourceTypes)
    {
        var tracker = new BackfillProgressTracker();
        var result = RunEngine(async ct =>
        {
            var request = BackfillMapping.ToRequest(Target, GetParameters(resourceTypes));
            var service = new BackfillService();
            // The plan is cheap (catalog reads only) and is what -WhatIf prints and -Confirm asks about.
            var planned = await ExecuteAsync(service, request with { DryRun = true }, null, ct).ConfigureAwait(false);
            var plan = planned.Plan ?? throw new PartitionOpsException("the engine returned no plan for the dry run");
            if (!ShouldProcessPlan(DescribeTarget(plan.Table), Operation, plan.Statements.ToList(), BackfillMapping.PlanSummary(plan, resourceTypes, request.Scope.Profile)))
                return null;
            var events = CreateProgress<BackfillEvent>(e => OnEvent(tracker, e));
            return await ExecuteAsync(service, request, events, ct).ConfigureAwait(false);
        });
        if (!CancellationToken.IsCancellationRequested)
            foreach (var done in tracker.Complete()) WriteProgressUpdate(done);
        if (result is null) return;

        WriteObject(result);
        if (result.Status == BackfillStatus.Paused)
            WriteVerbose($"Paused ({result.StopReason ?? "stopped"}): run the same command again to resume where it stopped.");
        else if (result.Status == BackfillStatus.Failed)
        {
            WriteFailure(new PartitionOpsException(BackfillMapping.FailureMessage(Operation, result)), ErrorTarget);
        }
    }

    /// <summary>Per-type events become progress bars; phase events become verbose messages.</summary>
    private void OnEvent(BackfillProgressTracker tracker, BackfillEvent e)
    {
        // After Ctrl+C the pipeline refuses writes; the engine finishes its batch and returns a paused result.
        if (CancellationToken.IsCancellationRequested) return;
        if (e.Type is { } type) WriteProgressUpdate(tracker.Update(type));
        else WriteVerbose(Scrub($"[{e.Phase}] {e.Message}"));
    }

    private void WriteProgressUpdate(ProgressUpdate update) =>
        WriteProgress(new ProgressRecord(update.ActivityId, update.Activity, update.Status)
        {
            PercentComplete = update.PercentComplete,
            SecondsRemaining = update.SecondsRemaining,
            RecordType = update.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });
}
