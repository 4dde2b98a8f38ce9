using System.Data.Common;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// The run's rows in the control tables: opening (or resuming) the run with a checkpoint per type, reading them,
/// the statements that move one type's checkpoint, and closing the run.
/// </summary>
internal sealed class RunCheckpoints(BackfillContext context, BackfillRequest request, string host, WalkProgress progress)
{
    private const string Phase = "backfill";
    private readonly IDatabaseProvider _provider = context.Provider;
    private readonly IBackfillDialect _dialect = context.Dialect;
    private readonly string _controlSchema = context.Table.ControlSchema;
    private readonly string _direction = request.Direction.ToString().ToLowerInvariant();

    public long RunId { get; private set; }

    /// <summary>Opens (or resumes) the run and its checkpoints. Safe to repeat after a reconnect.</summary>
    public async Task OpenAsync(MainSession session, Dictionary<int, long> estimates, CancellationToken ct) =>
        RunId = await session.RunAsync(Phase, (c, t) => OpenRunAsync(c, estimates, t), ct).ConfigureAwait(false);

    public Task<List<Checkpoint>> ReadAsync(MainSession session, CancellationToken ct) =>
        session.RunAsync(Phase, (c, t) => ProgressReader.CheckpointsAsync(c, context, RunId, t), ct);

    /// <summary>
    /// Writes the run's final status, unless another runner still holds the lock of one of its unfinished types (two runners
    /// share a run: the one that ends last writes it, so a run another runner still works on never reads paused or failed).
    /// Returns the types another runner still holds.
    /// </summary>
    public async Task<List<string>> CloseAsync(MainSession session, string status, CancellationToken ct)
    {
        var busy = new List<string>();
        if (status != BackfillStatus.Done)
        {
            foreach (var checkpoint in await ReadAsync(session, ct).ConfigureAwait(false))
            {
                if (checkpoint.Status == BackfillStatus.Done) continue;
                if (await TypeLockHeldElsewhereAsync(session, checkpoint.TypeName, ct).ConfigureAwait(false))
                    busy.Add(checkpoint.TypeName);
            }
            if (busy.Count > 0) return busy;
        }
        await session.RunAsync(Phase, (c, t) => c.ExecuteAsync(_provider, SetRunStatus(RunId, status), t), ct)
            .ConfigureAwait(false);
        return busy;
    }

    /// <summary>Moves a type's checkpoint to <paramref name="status"/> (with its high-water mark and error).</summary>
    public SqlStatement TypeStatus(TypeState state, string status, string? error) =>
        _dialect.UpdateCheckpointStatus(_controlSchema, state.Checkpoint.RunId, state.Checkpoint.TypeId, status, host,
            state.HighWaterMark, error);

    /// <summary>Counts one lock wait on a type's checkpoint.</summary>
    public SqlStatement LockWait(TypeState state) =>
        _dialect.AddLockWaits(_controlSchema, state.Checkpoint.RunId, state.Checkpoint.TypeId, 1);

    private SqlStatement SetRunStatus(long runId, string status) =>
        _dialect.SetRunStatus(_controlSchema, runId, status, ended: status != BackfillStatus.Running, host);

    private Task<bool> TypeLockHeldElsewhereAsync(MainSession session, string typeName, CancellationToken ct) =>
        session.RunAsync(Phase, (c, t) => AppLocks.HeldElsewhereAsync(c, context, context.Table.LockResource(typeName), t), ct);

    /// <summary>
    /// Resumes the newest run of this direction that has not finished; otherwise starts a new one. A new
    /// run after a finished one of the same direction starts each type where that one ended, so a rerun
    /// only catches up and sweeps instead of walking the whole table again.
    /// </summary>
    private async Task<long> OpenRunAsync(DbConnection connection, Dictionary<int, long> estimates, CancellationToken ct)
    {
        var latest = (await connection.QueryAsync(_provider, _dialect.LatestRun(context.Table),
            r => (RunId: r.Get<long>("run_id"), Direction: r.Get<string>("direction")!, Status: r.Get<string>("status")!,
                Host: r.Get<string>("host")),
            ct).ConfigureAwait(false))
            .FirstOrDefault();
        Dictionary<int, Checkpoint> seed = [];
        long runId;
        if (latest.Direction == _direction && latest.Status != BackfillStatus.Done)
        {
            runId = latest.RunId;
            await connection.ExecuteAsync(_provider, SetRunStatus(runId, BackfillStatus.Running), ct).ConfigureAwait(false);
            progress.Say(latest.Status == BackfillStatus.Running
                ? $"resuming run {runId}, recorded as running by {latest.Host ?? "another host"}: " +
                  "a runner that ends always records how it " +
                  "ended, so that one was killed; its types' locks are free, and any of them another runner still holds it skips"
                : $"resuming run {runId}");
        }
        else
        {
            if (latest.Direction == _direction)
                seed = (await ProgressReader.CheckpointsAsync(connection, context, latest.RunId, ct).ConfigureAwait(false))
                    .ToDictionary(c => c.TypeId);
            var options = $"batch_size={request.BatchSize};target_batch_ms={request.TargetBatchTime.TotalMilliseconds};" +
                          $"parallel={request.Parallelism}";
            runId = await connection.ScalarAsync<long>(_provider, _dialect.InsertRun(context.Table, _direction, host, options), ct)
                .ConfigureAwait(false);
            progress.Say($"started run {runId} ({_direction})");
        }

        var target = context.TargetValue(request.Direction);
        foreach (var type in context.SelectedTypes)
        {
            var highWaterMark = await connection.ScalarAsync<long?>(_provider,
                _dialect.HighWaterMark(context.Table, type.Id), ct).ConfigureAwait(false);
            var lastKey = seed.TryGetValue(type.Id, out var previous) && previous.Status == BackfillStatus.Done
                ? previous.LastKey
                : Checkpoint.StartKey;
            await connection.ExecuteAsync(_provider, _dialect.InsertCheckpoint(_controlSchema, runId, type, target, lastKey,
                highWaterMark, estimates.TryGetValue(type.Id, out var e) ? e : null), ct).ConfigureAwait(false);
        }
        return runId;
    }
}
