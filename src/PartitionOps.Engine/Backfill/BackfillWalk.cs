using System.Diagnostics;

namespace PartitionOps.Engine.Backfill;

internal sealed record WalkOutcome(long RunId, string Status, string? StopReason, IReadOnlyList<TypeProgress> Types,
    IReadOnlyList<string> SkippedTypes, long RowsScanned, IReadOnlyList<string> FailedTypes);

/// <summary>
/// Phase 3: walks each selected type in key ranges, smallest type first, N types at once (each a
/// <see cref="TypeWalk"/> on its own <see cref="TypeWorker"/>). Each batch moves one range and its checkpoint in
/// one transaction; after the walk a catch-up follows rows inserted above the high-water mark and a sweep fixes
/// rows inserted behind the walk. The run's rows: <see cref="RunCheckpoints"/>; why it stops: <see cref="WalkStop"/>.
/// </summary>
internal sealed class BackfillWalk
{
    private const string Phase = "backfill";

    /// <summary>Catch-up passes over every type at the end, at most (each only runs when the one before found rows).</summary>
    internal const int MaxFinalPasses = 5;

    private readonly BackfillContext _context;
    private readonly BackfillRequest _request;
    private readonly string _host;
    private readonly WalkParts _parts;
    private Dictionary<int, long> _estimates = [];

    public BackfillWalk(BackfillContext context, BackfillRequest request, string host, IProgress<BackfillEvent>? events, Stopwatch clock)
    {
        _context = context;
        _request = request;
        _host = host;
        var progress = new WalkProgress(events);
        _parts = new WalkParts(context, request, clock, new WalkStop(context, request, clock),
            new RunCheckpoints(context, request, host, progress), progress, new WalkTally());
    }

    private RunCheckpoints Checkpoints => _parts.Checkpoints;
    private WalkTally Tally => _parts.Tally;

    /// <summary>Clears the stop flag and opens (or resumes) the run with its checkpoints. Safe to repeat after a reconnect.</summary>
    public async Task OpenAsync(MainSession session, CancellationToken ct)
    {
        await session.RunAsync(Phase, (c, t) => StopFlag.SetAsync(c, _context, false, _host, t), ct).ConfigureAwait(false);
        _estimates = await session.RunAsync(Phase, (c, t) => ProgressReader.EstimatesAsync(c, _context, t), ct).ConfigureAwait(false);
        await Checkpoints.OpenAsync(session, _estimates, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Walks the run opened by <see cref="OpenAsync"/>. Whatever ends it (done, a pause, a failure, an exception), the
    /// run's row is left saying so, unless another runner still works on some of its types (it then says the last word).
    /// </summary>
    public async Task<WalkOutcome> RunAsync(MainSession session, CancellationToken ct)
    {
        try
        {
            return await WalkRunAsync(session, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var status = ct.IsCancellationRequested ? BackfillStatus.Paused : BackfillStatus.Failed;
            try { await Checkpoints.CloseAsync(session, status, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception) { /* the database is gone: the next start reconciles the row (its type locks are free) */ }
            _parts.Progress.Say($"run {Checkpoints.RunId}: {status}: {e.Message.Trim()}");
            throw;
        }
    }

    private async Task<WalkOutcome> WalkRunAsync(MainSession session, CancellationToken ct)
    {
        var selected = _context.SelectedTypes.Select(t => t.Id).ToHashSet();
        // Smallest first: quick wins, and the finished types are usable early.
        var work = (await Checkpoints.ReadAsync(session, ct).ConfigureAwait(false))
            .Where(c => selected.Contains(c.TypeId) && c.Status != BackfillStatus.Done)
            .OrderBy(c => _estimates.GetValueOrDefault(c.TypeId, c.EstimatedRows ?? 0))
            .ThenBy(c => c.TypeName, StringComparer.Ordinal)
            .ToList();

        _parts.Progress.Say($"run {Checkpoints.RunId}: {work.Count} of {selected.Count} types to walk, {_request.Parallelism} at a time");
        await WalkAllAsync(work, finalPass: false, ct).ConfigureAwait(false);
        await FinalPassesAsync(session, selected, ct).ConfigureAwait(false);

        var final = await Checkpoints.ReadAsync(session, CancellationToken.None).ConfigureAwait(false);
        var status = final.All(c => c.Status == BackfillStatus.Done) ? BackfillStatus.Done
            : final.Any(c => c.Status == BackfillStatus.Failed) || !Tally.Failed.IsEmpty ? BackfillStatus.Failed
            : BackfillStatus.Paused;
        var busy = await Checkpoints.CloseAsync(session, status, CancellationToken.None).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        var types = final.Where(c => selected.Contains(c.TypeId))
            .Select(c => c.ToProgress(_estimates.TryGetValue(c.TypeId, out var e) ? e : c.EstimatedRows, now)).ToList();
        // Failed types by name: those that failed now, and any left failed by an earlier call of this run
        // that this call did not get to retry (another runner held them, or the run stopped first).
        var failed = Tally.Failed.Select(f => f.Type)
            .Concat(types.Where(t => t.Status == BackfillStatus.Failed).Select(t => t.TypeName))
            .Distinct(StringComparer.Ordinal).ToList();
        var reason = status == BackfillStatus.Done ? null : StopReason(types);
        if (busy.Count > 0 && status != BackfillStatus.Done)
            reason = $"{(reason is null ? "" : reason + "; ")}another runner is still working on {string.Join(", ", busy)}: " +
                "the run stays running and it ends it";
        return new WalkOutcome(Checkpoints.RunId, status, reason, types, Tally.Skipped.ToList(), Tally.RowsScanned, failed);
    }

    /// <summary>
    /// Rows of a type may arrive after that type finished while others were still walking. Before the
    /// run is called done, every type catches up once more; repeat while a pass still finds rows.
    /// </summary>
    private async Task FinalPassesAsync(MainSession session, HashSet<int> selected, CancellationToken ct)
    {
        for (var pass = 1; pass <= MaxFinalPasses && _parts.Stop.Reason is null && Tally.Skipped.IsEmpty && Tally.Failed.IsEmpty; pass++)
        {
            var finished = (await Checkpoints.ReadAsync(session, ct).ConfigureAwait(false))
                .Where(c => selected.Contains(c.TypeId) && c.Status == BackfillStatus.Done).ToList();
            if (finished.Count < selected.Count) break;
            var before = Tally.RowsMoved;
            await WalkAllAsync(finished, finalPass: true, ct).ConfigureAwait(false);
            if (Tally.RowsMoved == before) break;
        }
    }

    /// <summary>"ValueSet failed: ...; CodeSystem failed: ..." and, when the others stopped too, why.</summary>
    private string? StopReason(IReadOnlyList<TypeProgress> types)
    {
        var failures = Tally.Failed.Select(f => $"{f.Type} failed: {f.Error}")
            .Concat(types.Where(t => t.Status == BackfillStatus.Failed && !Tally.Failed.Any(f => f.Type == t.TypeName))
                .Select(t => $"{t.TypeName} failed earlier: {t.LastError}"))
            .ToList();
        if (failures.Count == 0) return _parts.Stop.Reason;
        var reason = string.Join("; ", failures);
        return _parts.Stop.Reason is { } stop ? $"{reason}; the other types paused: {stop}" : reason;
    }

    private Task WalkAllAsync(IReadOnlyList<Checkpoint> work, bool finalPass, CancellationToken ct) =>
        Parallel.ForEachAsync(work,
            new ParallelOptions { MaxDegreeOfParallelism = _request.Parallelism, CancellationToken = CancellationToken.None },
            async (checkpoint, _) =>
            {
                var estimate = _estimates.TryGetValue(checkpoint.TypeId, out var e) ? e : checkpoint.EstimatedRows;
                try { await new TypeWalk(_parts, checkpoint, estimate, finalPass).RunAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { _parts.Stop.Set("cancelled"); }
            });
}
