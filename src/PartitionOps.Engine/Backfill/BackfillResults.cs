using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>Status words stored in the control tables and shown to users.</summary>
public static class BackfillStatus
{
    /// <summary>A dry run's result: the plan was read from the catalog, nothing ran (never stored).</summary>
    public const string Planned = "planned";
    public const string Pending = "pending";
    public const string Running = "running";
    public const string CatchUp = "catch-up";
    public const string Sweep = "sweep";
    public const string Done = "done";
    public const string Paused = "paused";
    public const string Failed = "failed";
}

/// <summary>Progress of one type: from the checkpoint, the catalog estimate and (on request) exact counts.</summary>
public sealed record TypeProgress
{
    public required string TypeName { get; init; }
    public required int TypeId { get; init; }
    public required string Status { get; init; }
    public long? EstimatedRows { get; init; }
    public long RowsScanned { get; init; }
    public long RowsUpdated { get; init; }
    public long Batches { get; init; }
    public long LockWaits { get; init; }
    public long LastKey { get; init; }
    public long? HighWaterMark { get; init; }
    public int? BatchSize { get; init; }
    public double? LastBatchMilliseconds { get; init; }
    public double? RowsPerSecond { get; init; }
    /// <summary>0..100; 100 when done.</summary>
    public double? PercentComplete { get; init; }
    public TimeSpan? Eta { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public string? Host { get; init; }
    public string? LastError { get; init; }
    /// <summary>Why the worker is waiting right now (throttle signal, lock wait), if it is.</summary>
    public string? Waiting { get; init; }
    /// <summary>With --exact: rows of the type, and rows not yet at the target value.</summary>
    public long? ExactTotalRows { get; init; }
    public long? ExactRemainingRows { get; init; }
}

public sealed record BackfillProgressReport
{
    public long? RunId { get; init; }
    public string? Direction { get; init; }
    /// <summary>The run's status, or "none" when no run was ever started on this table.</summary>
    public required string Status { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public required string Table { get; init; }
    public IReadOnlyList<TypeProgress> Types { get; init; } = [];
    public long RowsUpdated => Types.Sum(t => t.RowsUpdated);
    public long RowsScanned => Types.Sum(t => t.RowsScanned);
    public long? EstimatedRows => Types.All(t => t.EstimatedRows is null) ? null : Types.Sum(t => t.EstimatedRows ?? t.RowsScanned);
    public double? PercentComplete { get; init; }
    public TimeSpan? Eta { get; init; }
}

/// <summary>Something that happened: a phase step, a statement run, a retry, a throttle. For logs and -Verbose.</summary>
public sealed record BackfillEvent(string Phase, string Message, TypeProgress? Type = null);

/// <summary>What a start / undo did.</summary>
public sealed record BackfillResult
{
    public long? RunId { get; init; }
    /// <summary>done, paused (max duration, stop flag, Ctrl+C; resume by running again), failed (a type failed:
    /// see <see cref="FailedTypes"/>; the others went on), or planned (a dry run).</summary>
    public required string Status { get; init; }
    public string? StopReason { get; init; }
    public bool ColumnAdded { get; init; }
    public IReadOnlyList<string> IndexesBuilt { get; init; } = [];
    /// <summary>Index builds not started because they cannot be paused and would not end within --max-duration, each with
    /// its estimate: run them with `backfill start --phase indexes` outside the time box.</summary>
    public IReadOnlyList<string> IndexesDeferred { get; init; } = [];
    public IReadOnlyList<TypeProgress> Types { get; init; } = [];
    /// <summary>Types another runner was working on (their application lock was taken).</summary>
    public IReadOnlyList<string> SkippedTypes { get; init; } = [];
    /// <summary>
    /// Types that failed with an error that retrying would not fix (a trigger, a constraint): each is marked
    /// failed and the other types went on; the run's status is failed and names them in StopReason. Running
    /// the same command again retries them. Lock timeouts, deadlocks and connection faults are retried, not failures.
    /// </summary>
    public IReadOnlyList<string> FailedTypes { get; init; } = [];
    /// <summary>Wall time of this call, all phases (column, index builds, row moving).</summary>
    public TimeSpan Elapsed { get; init; }
    /// <summary>Wall time of phase 3 (moving rows) in this call; zero when phase 3 did not run.</summary>
    public TimeSpan Phase3Elapsed { get; init; }
    /// <summary>Rows walked by phase 3 in this call. <see cref="RowsScanned"/> is the run's total, which for a
    /// resumed run includes earlier calls.</summary>
    public long Phase3RowsScanned { get; init; }
    /// <summary>The run's totals over every call that worked on it (from the checkpoints).</summary>
    public long RowsUpdated => Types.Sum(t => t.RowsUpdated);
    public long RowsScanned => Types.Sum(t => t.RowsScanned);
    public long Batches => Types.Sum(t => t.Batches);
    /// <summary>
    /// Rate of phase 3 (row moving) in this call: <see cref="Phase3RowsScanned"/> over <see cref="Phase3Elapsed"/>.
    /// The time of phases 1 and 2 (the column, the index builds) is not counted, nor are earlier calls of a resumed
    /// run, so the figure is the walk's own speed, comparable between runs.
    /// </summary>
    public double RowsPerSecond => Phase3Elapsed.TotalSeconds > 0 ? Phase3RowsScanned / Phase3Elapsed.TotalSeconds : 0;
    /// <summary>Filled on a dry run: every statement the run would execute, phase by phase.</summary>
    public BackfillPlan? Plan { get; init; }
}

/// <summary>What `backfill stop` flagged: the table as the engine resolved it, and the run the flag reaches.</summary>
public sealed record BackfillStopRequest
{
    /// <summary>Always true: the flag is set (front ends print it; JSON keeps the field scripts test).</summary>
    public bool StopRequested => true;
    /// <summary>schema.table as resolved against the catalog (the profile's table, the schema default filled in).</summary>
    public required string Table { get; init; }
    public required string Column { get; init; }
    public required string ControlSchema { get; init; }
    /// <summary>host:pid recorded as requested_by.</summary>
    public required string RequestedBy { get; init; }
    /// <summary>The newest run of the table, if any, and its recorded status.</summary>
    public long? RunId { get; init; }
    public string? RunStatus { get; init; }
    /// <summary>Types whose lock a runner holds now (it is walking them), whatever the run's row says.</summary>
    public IReadOnlyList<string> WorkingTypes { get; init; } = [];
    /// <summary>True when a runner is in phase 1 or 2 (or opening the run) now: it sees the flag once it walks.</summary>
    public bool SettingUp { get; init; }
    /// <summary>
    /// True when a runner works now (holds a type or the setup) or the newest run is recorded as running, so workers will
    /// see the flag after their batch. Otherwise nothing is running to stop (the next start clears the flag).
    /// </summary>
    public bool RunInProgress => RunStatus == BackfillStatus.Running || WorkingTypes.Count > 0 || SettingUp;

    /// <summary>One line for people, the same in every front end.</summary>
    public string Summary =>
        $"{Table}.{Column}: stop requested (flag in {ControlSchema}.backfill_control); " + (RunInProgress
            ? WorkingTypes.Count > 0
                ? $"run {RunId} is running ({string.Join(", ", WorkingTypes)} being walked): its workers pause after their current batch"
                : SettingUp ? "a runner is in phase 1 or 2: it pauses once it reaches the walk"
                : $"run {RunId} is running: its workers pause after their current batch"
            : RunId is { } id
                ? $"run {id} is {RunStatus}, not running: nothing to pause now (the next start clears the flag)"
                : "no run has started on this table: nothing to pause now (the next start clears the flag)");
}

public sealed record PlannedStep(string Phase, string Description, IReadOnlyList<SqlStatement> Statements);

/// <summary>A dry run: what would run, with the exact SQL, and what the catalog says now.</summary>
public sealed record BackfillPlan(string Table, IReadOnlyList<PlannedStep> Steps, IReadOnlyList<TypeProgress> Types)
{
    public IEnumerable<SqlStatement> Statements => Steps.SelectMany(s => s.Statements);
}

/// <param name="WrittenAfterRun">Of <paramref name="MisplacedRows"/>, those with a key above the type's high-water mark in the
/// newest backfill run: written after the run last looked at the type (an application that does not write the column
/// inserts the default). The rest the run missed.</param>
public sealed record TypeIntegrity(string TypeName, int TypeId, bool IsSystemType, int ExpectedValue, long MisplacedRows,
    long WrittenAfterRun = 0)
{
    public long MissedRows => MisplacedRows - WrittenAfterRun;
}

/// <summary>The spec's two health checks. Passed when no row is misplaced.</summary>
public sealed record IntegrityReport
{
    public required string Table { get; init; }
    public long MisplacedSystemRows { get; init; }
    public long MisplacedUserRows { get; init; }
    /// <summary>The newest backfill run the rows were told apart against (null: none yet, every misplaced row counts as missed).</summary>
    public long? RunId { get; init; }
    /// <summary>The newest run when it is an undo (then <see cref="RunId"/> is null: no backfill run since it).</summary>
    public long? UndoRunId { get; init; }
    /// <summary>
    /// Misplaced system rows written after that run last looked at their type (keys above its high-water marks): placed
    /// by the next run (a scheduled rerun). Still misplaced, so still a failed check (exit 3, DESIGN's contract).
    /// </summary>
    public long WrittenAfterRunRows { get; init; }
    /// <summary>Misplaced system rows at or below the high-water marks: rows the run itself missed (or the checkpoint lies).</summary>
    public long MissedSystemRows => MisplacedSystemRows - WrittenAfterRunRows;
    public bool Passed => MisplacedSystemRows == 0 && MisplacedUserRows == 0;

    /// <summary>One line for people, the same in every front end.</summary>
    public string Summary => Passed
        ? $"{Table}: passed, no row is misplaced"
        : $"{Table}: FAILED, {MisplacedSystemRows:N0} system rows and {MisplacedUserRows:N0} user rows are misplaced" +
          (MisplacedSystemRows == 0 ? "" : RunId is null
              ? UndoRunId is { } undo ? $" (undo run {undo} moved them back; no backfill run since)" : " (no backfill run yet)"
              : $"; of the system rows, {WrittenAfterRunRows:N0} were written after run {RunId} (keys above its high-water marks: " +
                $"the next run places them) and {MissedSystemRows:N0} were missed by it" + (MissedSystemRows > 0 ? " (investigate)" : ""));
    /// <summary>Every system type, and every other type that has a misplaced row.</summary>
    public IReadOnlyList<TypeIntegrity> Types { get; init; } = [];
}

/// <summary>
/// One pre-flight check. A <see cref="Warning"/> passes (the run works) but says what to plan for;
/// its Detail starts with "warning:".
/// </summary>
public sealed record PrerequisiteCheck(string Name, bool Passed, string Detail, bool Warning = false);

public sealed record PrerequisiteReport
{
    public required string Table { get; init; }
    public required string ServerVersion { get; init; }
    public required string Edition { get; init; }
    public IReadOnlyList<PrerequisiteCheck> Checks { get; init; } = [];
    public bool Passed => Checks.All(c => c.Passed);
    /// <summary>Checks that passed with a warning (e.g. phase 1 is not metadata-only on this edition).</summary>
    public IEnumerable<PrerequisiteCheck> Warnings => Checks.Where(c => c.Warning);
    /// <summary>From one sample batch rolled back: rows per second, and the whole backfill at that rate.</summary>
    public double? SampleRowsPerSecond { get; init; }
    public TimeSpan? EstimatedDuration { get; init; }
}
