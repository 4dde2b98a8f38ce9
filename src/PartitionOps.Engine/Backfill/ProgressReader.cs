using System.Data.Common;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>A row of backfill_checkpoint.</summary>
internal sealed record Checkpoint
{
    /// <summary>The last key of a type nothing has been walked of yet: below every key.</summary>
    public const long StartKey = long.MinValue;

    public long RunId { get; init; }
    public int TypeId { get; init; }
    public string TypeName { get; init; } = "";
    public int TargetValue { get; init; }
    public long LastKey { get; init; }
    public long? HighWaterMark { get; init; }
    public long? EstimatedRows { get; init; }
    public long RowsScanned { get; init; }
    public long RowsUpdated { get; init; }
    public long Batches { get; init; }
    public long LockWaits { get; init; }
    public string Status { get; init; } = BackfillStatus.Pending;
    public string? Host { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public string? LastError { get; init; }

    public static Checkpoint Read(DbDataReader r) => new()
    {
        RunId = r.Get<long>("run_id"),
        TypeId = r.Get<int>("type_id"),
        TypeName = r.Get<string>("type_name")!,
        TargetValue = r.Get<int>("target_value"),
        LastKey = r.Get<long>("last_key"),
        HighWaterMark = r.Get<long?>("high_water_mark"),
        EstimatedRows = r.Get<long?>("estimated_rows"),
        RowsScanned = r.Get<long>("rows_scanned"),
        RowsUpdated = r.Get<long>("rows_updated"),
        Batches = r.Get<long>("batches"),
        LockWaits = r.Get<long>("lock_waits"),
        Status = r.Get<string>("status")!,
        Host = r.Get<string>("host"),
        StartedAt = r.Get<DateTimeOffset?>("started_at"),
        UpdatedAt = r.Get<DateTimeOffset?>("updated_at"),
        CompletedAt = r.Get<DateTimeOffset?>("completed_at"),
        LastError = r.Get<string>("last_error"),
    };

    /// <summary>Progress from checkpoint numbers and the catalog estimate: no scan of the table.</summary>
    public TypeProgress ToProgress(long? estimate, DateTimeOffset now, string? waiting = null, int? batchSize = null,
        double? lastBatchMs = null)
    {
        var done = Status == BackfillStatus.Done;
        // Catching up or sweeping comes after the walk to the starting high-water mark: what is left is the rows inserted
        // meanwhile, few and unknown to statistics. The type's estimate counts rows walked already (on a rerun, by the
        // run before), so it would show them as still to do: 19 minutes for the last 300 rows.
        var tail = Status is BackfillStatus.CatchUp or BackfillStatus.Sweep;
        // The estimate is statistics; never show fewer rows than were already walked.
        long? total = done || tail ? RowsScanned : estimate is { } e ? Math.Max(e, RowsScanned) : null;
        // started_at moves forward by every pause (UpdateCheckpointStatus), so this is the working rate.
        var seconds = StartedAt is { } s ? ((CompletedAt ?? UpdatedAt ?? now) - s).TotalSeconds : 0;
        double? rate = seconds > 0 && RowsScanned > 0 ? RowsScanned / seconds : null;
        double? percent = done ? 100 : total is > 0 ? Math.Min(99.9, 100.0 * RowsScanned / total.Value) : null;
        TimeSpan? eta = done || tail ? TimeSpan.Zero
            : total is { } t && rate is > 0 ? TimeSpan.FromSeconds(Math.Max(0, t - RowsScanned) / rate.Value) : null;
        return new TypeProgress
        {
            TypeName = TypeName, TypeId = TypeId, Status = Status, EstimatedRows = total,
            RowsScanned = RowsScanned, RowsUpdated = RowsUpdated, Batches = Batches, LockWaits = LockWaits,
            LastKey = LastKey, HighWaterMark = HighWaterMark, RowsPerSecond = rate, PercentComplete = percent, Eta = eta,
            StartedAt = StartedAt, UpdatedAt = UpdatedAt, CompletedAt = CompletedAt, Host = Host, LastError = LastError,
            Waiting = waiting, BatchSize = batchSize, LastBatchMilliseconds = lastBatchMs,
        };
    }
}

internal static class ProgressReader
{
    public static async Task<Dictionary<int, long>> EstimatesAsync(DbConnection connection, BackfillContext context, CancellationToken ct)
    {
        var statement = context.Dialect.EstimatedRowsPerType(context.Table);
        var rows = await connection.QueryAsync(context.Provider, statement,
            r => (Id: r.Get<int>("type_id"), Rows: r.Get<long>("estimated_rows")), ct).ConfigureAwait(false);
        return rows.GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.Sum(x => x.Rows));
    }

    public static async Task<List<Checkpoint>> CheckpointsAsync(DbConnection connection, BackfillContext context, long runId,
        CancellationToken ct) =>
        await connection.QueryAsync(context.Provider, context.Dialect.ReadCheckpoints(context.Table.ControlSchema, runId),
            Checkpoint.Read, ct).ConfigureAwait(false);

    public static async Task<BackfillProgressReport> ReadAsync(DbConnection connection, BackfillContext context, bool exact,
        CancellationToken ct)
    {
        var provider = context.Provider;
        var dialect = context.Dialect;
        var estimates = await EstimatesAsync(connection, context, ct).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;

        Dictionary<int, (long Total, long System, long Default)>? counts = null;
        if (exact && context.ColumnExists)
        {
            counts = (await connection.QueryAsync(provider, dialect.ExactCounts(context.Table),
                r => (Id: r.Get<int>("type_id"), Total: r.Get<long>("total_rows"), System: r.Get<long>("system_rows"),
                    Default: r.Get<long>("default_rows")),
                ct, timeoutSeconds: 0).ConfigureAwait(false)).ToDictionary(x => x.Id, x => (x.Total, x.System, x.Default));
        }

        var controlExists = await connection.ScalarAsync<int>(provider, dialect.ControlTablesExist(context.Table.ControlSchema), ct)
            .ConfigureAwait(false) == 1;
        (long RunId, string Direction, string Status, DateTimeOffset? Started, DateTimeOffset? Ended)? run = null;
        if (controlExists)
        {
            var runs = await connection.QueryAsync(provider, dialect.LatestRun(context.Table),
                r => (r.Get<long>("run_id"), r.Get<string>("direction")!, r.Get<string>("status")!,
                    r.Get<DateTimeOffset?>("started_at"), r.Get<DateTimeOffset?>("ended_at")), ct).ConfigureAwait(false);
            if (runs.Count > 0) run = runs[0];
        }

        var checkpoints = run is { } rr ? await CheckpointsAsync(connection, context, rr.RunId, ct).ConfigureAwait(false) : [];
        var byType = checkpoints.ToDictionary(c => c.TypeId);
        var types = new List<TypeProgress>();
        // The run's own types: after a partial undo (--resource-type) only the chosen ones, not every system type.
        var shown = context.SelectedTypes.Count == context.SystemTypes.Count && checkpoints.Count > 0
            ? context.SelectedTypes.Where(t => byType.ContainsKey(t.Id))
            : context.SelectedTypes;
        foreach (var type in shown)
        {
            var cp = byType.GetValueOrDefault(type.Id)
                     ?? new Checkpoint { TypeId = type.Id, TypeName = type.Name, LastKey = Checkpoint.StartKey };
            var progress = cp.ToProgress(estimates.TryGetValue(type.Id, out var e) ? e : cp.EstimatedRows, now);
            if (counts != null)
            {
                var c = counts.GetValueOrDefault(type.Id);
                var targetIsSystem = run is null || run.Value.Direction == nameof(BackfillDirection.Backfill).ToLowerInvariant();
                progress = progress with
                {
                    ExactTotalRows = c.Total,
                    ExactRemainingRows = c.Total - (targetIsSystem ? c.System : c.Default),
                };
            }
            types.Add(progress);
        }

        var totalEstimate = types.Sum(t => t.EstimatedRows ?? t.RowsScanned);
        var scanned = types.Sum(t => t.RowsScanned);
        var allDone = types.Count > 0 && types.All(t => t.Status == BackfillStatus.Done);
        var rates = types.Where(t => t.Status != BackfillStatus.Done && t.RowsPerSecond is > 0).Sum(t => t.RowsPerSecond!.Value);
        return new BackfillProgressReport
        {
            RunId = run?.RunId,
            Direction = run?.Direction,
            Status = run?.Status ?? "none",
            StartedAt = run?.Started,
            EndedAt = run?.Ended,
            Table = context.Display,
            Types = types,
            PercentComplete = allDone ? 100 : totalEstimate > 0 ? Math.Min(99.9, 100.0 * scanned / totalEstimate) : null,
            Eta = allDone ? TimeSpan.Zero : rates > 0 ? TimeSpan.FromSeconds(Math.Max(0, totalEstimate - scanned) / rates) : null,
        };
    }
}
