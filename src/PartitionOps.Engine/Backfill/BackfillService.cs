using System.Data.Common;
using System.Diagnostics;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Backfill;

/// <summary>
/// The backfill as front ends call it: start (phases 1-3, or a dry-run plan), progress, validate, undo,
/// stop, prerequisites. Every method checks its input against the catalog before changing anything.
/// </summary>
public sealed class BackfillService
{
    private static readonly string Host = $"{Environment.MachineName}:{Environment.ProcessId}";

    // ================================================================ start / undo

    public async Task<BackfillResult> StartAsync(BackfillRequest request, IProgress<BackfillEvent>? events = null,
        CancellationToken ct = default)
    {
        request = request.Validated().WithPhaseApplied();
        var clock = Stopwatch.StartNew();
        await using var session = await MainSession.OpenAsync(request.Scope.Target, events, ct).ConfigureAwait(false);
        var context = await session.RunAsync("start", (c, t) => BackfillContext.ResolveAsync(request.Scope, c, t), ct)
            .ConfigureAwait(false);
        if (request.Phase == BackfillPhase.Indexes && !context.ColumnExists)
            throw new InvalidRequestException(nameof(BackfillRequest.Phase), "indexes",
                $"needs {context.Profile.PartitionColumn} in {context.Display}, which does not exist yet: " +
                "run the column phase (or a whole start) first");

        var server = await session.RunAsync("start", (c, t) => ReadServerAsync(c, context, t), ct).ConfigureAwait(false);
        var indexOptions = ServerRules.EffectiveIndexOptions(request, server);
        if (ColumnStep(request, context) is not null
            && await session.RunAsync("start", (c, t) => RowSizeCheckAsync(c, context, t), ct).ConfigureAwait(false)
                is { Passed: false } rowSize)
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "partition_column", context.Profile.PartitionColumn,
                rowSize.Detail);
        var tableRows = request.SkipIndexes ? 0
            : await session.RunAsync("start", (c, t) => TableRowsAsync(c, context, t), ct).ConfigureAwait(false);
        var indexSteps = await session.RunAsync("start", (c, t) => IndexStepsAsync(c, context, request, indexOptions, tableRows, t), ct)
            .ConfigureAwait(false);
        ServerRules.RequireOnlineOrConsent(request, server, buildNeeded: indexSteps.Count > 0);

        if (request.DryRun)
        {
            var plan = await session.RunAsync("start", (c, t) => PlanAsync(c, context, request, ColumnStep(request, context),
                indexSteps.Select(x => x.Step).ToList(), t), ct).ConfigureAwait(false);
            return new BackfillResult { Status = BackfillStatus.Planned, Plan = plan, Types = plan.Types, Elapsed = clock.Elapsed };
        }

        await session.RunAsync("start", (c, t) => EnsureControlTablesAsync(c, context, t), ct).ConfigureAwait(false);

        // Phases 1 and 2 and opening the run, one runner at a time: two first starts at once would otherwise race
        // on the same DDL (one of them failing on the catalog: 23505, 2BP01 on PostgreSQL) and open two runs.
        var setup = new SetupLock(session, context, request, clock, events);
        var waited = await setup.AcquireAsync(ct).ConfigureAwait(false);
        if (waited is null)
            return Paused($"max duration {request.MaxDuration} reached while another runner held phases 1 and 2 of {context.Display}");
        try
        {
            if (waited == true)
            {
                // The other runner may have done phases 1 and 2 meanwhile: plan again from the catalog.
                context = await session.RunAsync("start", (c, t) => BackfillContext.ResolveAsync(request.Scope, c, t), ct)
                    .ConfigureAwait(false);
                indexSteps = await session.RunAsync("start",
                        (c, t) => IndexStepsAsync(c, context, request, indexOptions, tableRows, t), ct)
                    .ConfigureAwait(false);
            }

            var columnAdded = false;
            if (ColumnStep(request, context) is { } columnStep)
            {
                var columnDone = await RunDdlWithRetriesAsync(session, context, request, clock, columnStep.Statements,
                    async token =>
                    {
                        // After a lost connection the column may be there already (the ALTER committed before the fault).
                        var now = await BackfillContext.ResolveAsync(request.Scope, session.Connection, token).ConfigureAwait(false);
                        return ColumnStep(request, now)?.Statements ?? [];
                    },
                    "column", $"phase 1 (adding {context.Profile.PartitionColumn})", request.DdlLockTimeout, events, ct)
                    .ConfigureAwait(false);
                if (columnDone is { } stop1) return Paused(stop1);
                columnAdded = true;
                events?.Report(new("column", $"added {context.Profile.PartitionColumn} to {context.Display} (metadata only)"));
            }

            var built = new List<string>();
            var deferred = new List<string>();
            foreach (var (index, step) in indexSteps)
            {
                // A build that cannot be paused is not started when it would overrun the run's max duration: it and the
                // ones after it wait for a run of phase 2 alone (phase 3 does not need the indexes to move rows).
                var estimate = ServerRules.IndexBuildEstimate(tableRows, request.IndexBuildRowsPerSecond);
                var defer = deferred.Count > 0
                    ? "not started: it would follow a deferred build; run it with the indexes phase alone, without a time limit"
                    : ServerRules.DeferBuild(context.Dialect.NotResumableReason(index, indexOptions), request.MaxDuration,
                        clock.Elapsed, estimate, tableRows, request.IndexBuildRowsPerSecond);
                if (defer is not null)
                {
                    deferred.Add($"{index.Name}: {defer}");
                    events?.Report(new("index", $"{index.Name} {defer}"));
                    continue;
                }
                events?.Report(new("index", step.Description));
                // A retry re-reads the catalog: an attempt that timed out (or a build started by another runner, or a
                // resumed one) may have changed the state. A CONCURRENTLY build that lost its lock wait leaves an
                // INVALID index that IF NOT EXISTS would keep; re-planned, the dialect drops it and builds again.
                var indexDone = await RunDdlWithRetriesAsync(session, context, request, clock, step.Statements,
                    token => IndexStatementsAsync(session.Connection, context, request, indexOptions, index, token), "index",
                    $"phase 2 ({step.Description})", request.DdlLockTimeout, events, ct).ConfigureAwait(false);
                if (indexDone is { } stop2) return Paused(stop2, columnAdded, built, deferred);
                built.Add(step.Description);
            }

            if (request.SkipBackfill)
                return new BackfillResult
                {
                    Status = BackfillStatus.Done, ColumnAdded = columnAdded, IndexesBuilt = built, IndexesDeferred = deferred,
                    Elapsed = clock.Elapsed,
                };

            var walk = new BackfillWalk(context, request, Host, events, clock);
            var phase3 = Stopwatch.StartNew();
            await walk.OpenAsync(session, ct).ConfigureAwait(false);
            await setup.ReleaseAsync().ConfigureAwait(false);
            var outcome = await walk.RunAsync(session, ct).ConfigureAwait(false);
            phase3.Stop();
            return new BackfillResult
            {
                RunId = outcome.RunId,
                Status = outcome.Status,
                StopReason = outcome.StopReason,
                ColumnAdded = columnAdded,
                IndexesBuilt = built,
                IndexesDeferred = deferred,
                Types = outcome.Types,
                SkippedTypes = outcome.SkippedTypes,
                FailedTypes = outcome.FailedTypes,
                Elapsed = clock.Elapsed,
                Phase3Elapsed = phase3.Elapsed,
                Phase3RowsScanned = outcome.RowsScanned,
            };
        }
        finally
        {
            await setup.ReleaseAsync().ConfigureAwait(false);
        }

        BackfillResult Paused(string reason, bool columnAdded = false, List<string>? built = null, List<string>? deferred = null)
        {
            events?.Report(new("start", $"paused: {reason}"));
            return new BackfillResult
            {
                Status = BackfillStatus.Paused, StopReason = reason, ColumnAdded = columnAdded, IndexesBuilt = built ?? [],
                IndexesDeferred = deferred ?? [], Elapsed = clock.Elapsed,
            };
        }
    }

    /// <summary>
    /// Puts the system types (all, or the scope's) back to the default value with the same batched,
    /// resumable engine. Never touches the column or the indexes.
    /// </summary>
    public Task<BackfillResult> UndoAsync(BackfillRequest request, IProgress<BackfillEvent>? events = null,
        CancellationToken ct = default) =>
        StartAsync(request with { Direction = BackfillDirection.Undo, SkipColumn = true, SkipIndexes = true }, events, ct);

    // ================================================================ stop

    /// <summary>
    /// Sets the stop flag: running workers finish their batch and pause. The next start clears it. Returns
    /// what was flagged (the table as resolved, its column) and the newest run the flag reaches.
    /// </summary>
    public async Task<BackfillStopRequest> RequestStopAsync(BackfillScope scope, CancellationToken ct = default)
    {
        scope = scope.Validated();
        await using var connection = await scope.Target.OpenAsync(ct).ConfigureAwait(false);
        var context = await BackfillContext.ResolveAsync(scope, connection, ct).ConfigureAwait(false);
        await EnsureControlTablesAsync(connection, context, ct).ConfigureAwait(false);
        await StopFlag.SetAsync(connection, context, true, Host, ct).ConfigureAwait(false);
        var latest = await connection.QueryAsync(context.Provider, context.Dialect.LatestRun(context.Table),
            r => (RunId: r.Get<long>("run_id"), Status: r.Get<string>("status")), ct).ConfigureAwait(false);
        // Who works now, whatever the run's row says: a type's lock, or the setup lock of phases 1 and 2.
        var working = new List<string>();
        foreach (var type in context.SelectedTypes)
            if (await AppLocks.HeldElsewhereAsync(connection, context, context.Table.LockResource(type.Name), ct).ConfigureAwait(false))
                working.Add(type.Name);
        var settingUp = await AppLocks.HeldElsewhereAsync(connection, context, context.Table.LockResource(SetupLock.ResourceSuffix), ct)
            .ConfigureAwait(false);
        return new BackfillStopRequest
        {
            WorkingTypes = working,
            SettingUp = settingUp,
            Table = context.Display,
            Column = context.Profile.PartitionColumn,
            ControlSchema = context.Table.ControlSchema,
            RequestedBy = Host,
            RunId = latest.Count > 0 ? latest[0].RunId : null,
            RunStatus = latest.Count > 0 ? latest[0].Status : null,
        };
    }

    /// <summary>
    /// Creates the control tables if missing (idempotent DDL) in one transaction: <paramref name="transaction"/>
    /// when given, else one of its own, retried when another creator won the race (<see cref="ControlTables.CreateAsync"/>).
    /// </summary>
    internal static async Task EnsureControlTablesAsync(DbConnection connection, BackfillContext context, CancellationToken ct,
        DbTransaction? transaction = null)
    {
        var statements = context.Dialect.CreateControlTables(context.Table.ControlSchema);
        if (transaction is not null)
        {
            foreach (var statement in statements)
                await connection.ExecuteAsync(context.Provider, statement, ct, transaction).ConfigureAwait(false);
            return;
        }
        await ControlTables.CreateAsync(connection, context.Provider, statements, ct).ConfigureAwait(false);
    }

    // ================================================================ progress

    public async Task<BackfillProgressReport> GetProgressAsync(BackfillScope scope, bool exact = false, CancellationToken ct = default)
    {
        scope = scope.Validated();
        await using var connection = await scope.Target.OpenAsync(ct).ConfigureAwait(false);
        var context = await BackfillContext.ResolveAsync(scope, connection, ct).ConfigureAwait(false);
        return await ProgressReader.ReadAsync(connection, context, exact, ct).ConfigureAwait(false);
    }

    // ================================================================ validate

    public async Task<IntegrityReport> ValidateAsync(BackfillScope scope, CancellationToken ct = default)
    {
        scope = scope.Validated();
        await using var connection = await scope.Target.OpenAsync(ct).ConfigureAwait(false);
        var context = await BackfillContext.ResolveAsync(scope, connection, ct).ConfigureAwait(false);
        if (!context.ColumnExists)
            throw new InvalidRequestException(nameof(BackfillScope.Profile), "partition_column", context.Profile.PartitionColumn,
                $"does not exist in {context.Display} yet: start a backfill first");
        var p = context.Profile;
        // Told apart against the newest run when it is a backfill: rows above a type's high-water mark came after it.
        var control = context.Table.ControlSchema;
        long? runId = null, undoRunId = null;
        if (await connection.ScalarAsync<int>(context.Provider, context.Dialect.ControlTablesExist(control), ct).ConfigureAwait(false) == 1)
        {
            var latest = await connection.QueryAsync(context.Provider, context.Dialect.LatestRun(context.Table),
                r => (RunId: r.Get<long>("run_id"), Direction: r.Get<string>("direction")), ct).ConfigureAwait(false);
            if (latest.Count > 0 && latest[0].Direction == nameof(BackfillDirection.Backfill).ToLowerInvariant()) runId = latest[0].RunId;
            else if (latest.Count > 0) undoRunId = latest[0].RunId;
        }
        var systemTypeIds = context.SystemTypes.Select(t => t.Id).ToList();
        var statement = runId is { } run
            ? context.Dialect.MisplacedSinceRun(context.Table, systemTypeIds, run)
            : context.Dialect.Misplaced(context.Table, systemTypeIds);
        var misplaced = (await connection.QueryAsync(context.Provider, statement,
                r => (Id: r.Get<int>("type_id"), Rows: r.Get<long>("misplaced_rows"),
                    After: runId is null ? 0 : r.Get<long>("written_after_run")),
                ct, timeoutSeconds: 0).ConfigureAwait(false))
            .ToDictionary(x => x.Id, x => (x.Rows, x.After));
        var systemIds = context.SystemTypes.Select(t => t.Id).ToHashSet();
        var selected = context.SelectedTypes.Select(t => t.Id).ToHashSet();
        var types = context.SystemTypes.Where(t => selected.Contains(t.Id))
            .Select(t => new TypeIntegrity(t.Name, t.Id, true, p.SystemValue,
                misplaced.GetValueOrDefault(t.Id).Rows, misplaced.GetValueOrDefault(t.Id).After))
            .Concat(misplaced.Where(m => !systemIds.Contains(m.Key))
                // A user type's row is never moved by the run: a wrong value there is never "new", whatever its key.
                .Select(m => new TypeIntegrity(context.AllTypes.GetValueOrDefault(m.Key, $"#{m.Key}"), m.Key, false, p.DefaultValue,
                    m.Value.Rows)))
            .ToList();
        return new IntegrityReport
        {
            Table = context.Display,
            RunId = runId,
            UndoRunId = undoRunId,
            WrittenAfterRunRows = types.Where(t => t.IsSystemType).Sum(t => t.WrittenAfterRun),
            MisplacedSystemRows = types.Where(t => t.IsSystemType).Sum(t => t.MisplacedRows),
            MisplacedUserRows = scope.ResourceTypes.Count > 0 ? 0 : types.Where(t => !t.IsSystemType).Sum(t => t.MisplacedRows),
            Types = scope.ResourceTypes.Count > 0 ? types.Where(t => t.IsSystemType).ToList() : types,
        };
    }

    // ================================================================ prerequisites

    public async Task<PrerequisiteReport> TestPrerequisitesAsync(BackfillRequest request, CancellationToken ct = default)
    {
        request = request.Validated();
        await using var connection = await request.Scope.Target.OpenAsync(ct).ConfigureAwait(false);
        var context = await BackfillContext.ResolveAsync(request.Scope, connection, ct, allowMissingSystemTypes: true)
            .ConfigureAwait(false);
        var server = await ReadServerAsync(connection, context, ct).ConfigureAwait(false);
        var checks = new List<PrerequisiteCheck>
        {
            ServerRules.VersionCheck(server, context.Dialect.MinimumVersion),
            ServerRules.LookupCheck(context.Profile.SystemTypes, context.MissingSystemTypes,
                $"{context.Table.Schema}.{context.Profile.LookupTable}"),
            ServerRules.OnlineIndexCheck(request, server),
            new("resumable index build", true,
                server.SupportsResumable ? "supported" : "not supported here: index builds are not resumable"),
            ServerRules.AddColumnCheck(server, context.ColumnExists, context.Profile.PartitionColumn),
            await RowSizeCheckAsync(connection, context, ct).ConfigureAwait(false),
        };
        var indexOptions = ServerRules.EffectiveIndexOptions(request, server);
        var tableRows = await TableRowsAsync(connection, context, ct).ConfigureAwait(false);
        var unpausable = context.Profile.FilteredIndexes()
            .Select(i => (Index: i, Reason: context.Dialect.NotResumableReason(i, indexOptions))).Where(x => x.Reason is not null).ToList();
        if (unpausable.Count > 0)
            // Information, not a warning: nothing to fix, but what a time-boxed run will do with these builds.
        {
            var each = ServerRules.Human(ServerRules.IndexBuildEstimate(tableRows, request.IndexBuildRowsPerSecond));
            checks.Add(new("index builds that cannot be paused", true,
                $"{string.Join(", ", unpausable.Select(x => x.Index.Name))}: {unpausable[0].Reason}. Each is estimated at " +
                $"{each} ({tableRows:N0} rows at {request.IndexBuildRowsPerSecond:N0} rows/s); a run with a time limit " +
                "does not start one it cannot finish in the time left: build them with the indexes phase alone, " +
                "without a time limit"));
        }
        var permissions = await connection.QueryAsync(context.Provider,
            context.Dialect.Permissions(context.Table),
            r => (Name: r.Get<string>("permission")!, Granted: r.Get<int>("granted") == 1, Needs: r.Get<string>("needs")), ct)
            .ConfigureAwait(false);
        foreach (var (name, granted, needs) in permissions)
            checks.Add(new($"permission {name}", granted,
                granted ? "granted" : $"missing: the login needs {needs ?? name.Replace('_', ' ')}"));

        var (rate, estimate) = await SampleBatchAsync(connection, context, request, ct).ConfigureAwait(false);
        return new PrerequisiteReport
        {
            Table = context.Display,
            ServerVersion = server.Version,
            Edition = server.Edition,
            Checks = checks,
            SampleRowsPerSecond = rate,
            EstimatedDuration = estimate,
        };
    }

    /// <summary>
    /// Times one batch of the largest selected type inside a transaction that is rolled back (with the
    /// control tables it needs), so nothing persists; extrapolates to every selected type's estimate.
    /// </summary>
    private static async Task<(double? Rate, TimeSpan? Estimate)> SampleBatchAsync(DbConnection connection, BackfillContext context,
        BackfillRequest request, CancellationToken ct)
    {
        if (!context.ColumnExists || context.SelectedTypes.Count == 0) return (null, null);
        var estimates = await ProgressReader.EstimatesAsync(connection, context, ct).ConfigureAwait(false);
        var type = context.SelectedTypes.OrderByDescending(t => estimates.GetValueOrDefault(t.Id)).First();
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        try
        {
            await EnsureControlTablesAsync(connection, context, ct, tx).ConfigureAwait(false);
            var batch = context.Dialect.Batch(context.Table, runId: -1, type.Id, Checkpoint.StartKey, highWaterMark: long.MaxValue,
                BatchSizeController.For(request, context.Dialect).Current, context.TargetValue(request.Direction));
            var watch = Stopwatch.StartNew();
            var rows = await connection.QueryAsync(context.Provider, batch, r => r.Get<int>("rows_scanned"), ct, tx).ConfigureAwait(false);
            watch.Stop();
            var scanned = rows.FirstOrDefault();
            if (scanned == 0) return (null, null);
            var rate = scanned / Math.Max(watch.Elapsed.TotalSeconds, 0.001);
            var total = context.SelectedTypes.Sum(t => estimates.GetValueOrDefault(t.Id));
            return (rate, total > 0 ? TimeSpan.FromSeconds(total / rate) : null);
        }
        finally
        {
            await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    // ================================================================ shared pieces

    internal static async Task<ServerFacts> ReadServerAsync(DbConnection connection, BackfillContext context, CancellationToken ct)
    {
        var rows = await connection.QueryAsync(context.Provider, context.Dialect.ServerInfo(), r => new ServerFacts(
            r.Get<string>("version") ?? "", r.Get<int?>("major_version"), r.Get<string>("edition") ?? "",
            r.Get<int>("supports_online_index") == 1, r.Get<int>("supports_resumable_index") == 1,
            r.Get<int>("metadata_only_add_column") == 1), ct).ConfigureAwait(false);
        return rows.Single();
    }

    private static PlannedStep? ColumnStep(BackfillRequest request, BackfillContext context) =>
        request.SkipColumn || context.ColumnExists
            ? null
            : new PlannedStep("column",
                $"add {context.Profile.PartitionColumn} {context.Profile.PartitionColumnType} NOT NULL " +
                $"DEFAULT {context.Profile.DefaultValue}",
                [context.Dialect.SetLockTimeout(request.DdlLockTimeout), context.Dialect.AddPartitionColumn(context.Table)]);

    private static async Task<List<(FilteredIndex Index, PlannedStep Step)>> IndexStepsAsync(DbConnection connection,
        BackfillContext context,
        BackfillRequest request, IndexBuildOptions options, long tableRows, CancellationToken ct)
    {
        var steps = new List<(FilteredIndex, PlannedStep)>();
        if (request.SkipIndexes) return steps;
        foreach (var index in context.Profile.FilteredIndexes())
        {
            var statements = await IndexStatementsAsync(connection, context, request, options, index, ct).ConfigureAwait(false);
            if (statements.Count > 0)
                steps.Add((index, new PlannedStep("index", IndexDescription(context, request, options, index, tableRows), statements)));
        }
        return steps;
    }

    /// <summary>What the dry run and the events say of one build: the index, and whether it can be paused (with its estimate).</summary>
    private static string IndexDescription(BackfillContext context, BackfillRequest request, IndexBuildOptions options, FilteredIndex index,
        long tableRows)
    {
        var p = context.Profile;
        var text = $"build {index.Name} ({string.Join(", ", index.Columns)})" +
                   (index.Include.Count > 0 ? $" INCLUDE ({string.Join(", ", index.Include)})" : "") +
                   $" WHERE {p.PartitionColumn} = {index.FilterValue}" +
                   string.Concat(index.Where.Select(c => $" AND {c.Column} = {c.Value}"));
        var notResumable = context.Dialect.NotResumableReason(index, options);
        var estimate = ServerRules.Human(ServerRules.IndexBuildEstimate(tableRows, request.IndexBuildRowsPerSecond));
        return notResumable is null
            ? text + "; resumable"
            : text + $"; cannot be paused or resumed: {notResumable}; estimated {estimate} " +
                     $"({tableRows:N0} rows at {request.IndexBuildRowsPerSecond:N0} rows/s)";
    }

    private static Task<long> TableRowsAsync(DbConnection connection, BackfillContext context, CancellationToken ct) =>
        connection.ScalarAsync<long>(context.Provider,
            context.Dialect.TableRowEstimate(context.Table.Schema, context.Table.Table), ct);

    private static async Task<PrerequisiteCheck> RowSizeCheckAsync(DbConnection connection, BackfillContext context, CancellationToken ct)
    {
        var rows = await connection.QueryAsync(context.Provider,
            context.Dialect.MaxRowBytes(context.Table.Schema, context.Table.Table),
            r => r.Get<int?>("max_row_bytes"), ct).ConfigureAwait(false);
        return ServerRules.RowSizeCheck(rows.FirstOrDefault(), context.Dialect.OnlineAddColumnRowLimit, context.ColumnExists,
            context.Profile, context.Display);
    }

    /// <summary>What brings one filtered index to a valid state given the catalog now (nothing when it is valid).</summary>
    private static async Task<IReadOnlyList<SqlStatement>> IndexStatementsAsync(DbConnection connection, BackfillContext context,
        BackfillRequest request, IndexBuildOptions options, FilteredIndex index, CancellationToken ct)
    {
        var dialect = context.Dialect;
        var provider = context.Provider;
        var partitions = await connection.QueryAsync(provider, dialect.Partitions(context.Table.Schema, context.Table.Table),
            r => new TablePartition(r.Get<string>("partition_schema")!, r.Get<string>("partition_name")!)
            {
                ParentSchema = r.Get<string>("parent_schema"), ParentName = r.Get<string>("parent_name"),
                IsLeaf = r.Get<int>("is_leaf") == 1, Level = r.Get<int>("level"),
            }, ct).ConfigureAwait(false);
        var existing = await connection.QueryAsync(provider, dialect.Indexes(context.Table.Schema, context.Table.Table),
            r => new IndexState(r.Get<string>("object_schema")!, r.Get<string>("object_name")!, r.Get<string>("index_name")!,
                r.Get<int>("is_valid") == 1, r.Get<int>("is_paused") == 1) { PausedMaxDop = r.Get<int?>("paused_max_dop") },
            ct).ConfigureAwait(false);
        var statements = dialect.BuildFilteredIndex(context.Table, index, existing, partitions, options);
        return statements.Count == 0 ? [] : [dialect.SetLockTimeout(request.DdlLockTimeout), .. statements];
    }

    /// <summary>
    /// Runs DDL with a short lock timeout: when it cannot get its lock it gives up quickly (so it never
    /// queues application writers behind it for long) and tries again after a back-off. A retry runs the
    /// statements again from the first (each is idempotent), or what <paramref name="replan"/> says is left
    /// to do. A connection fault reconnects and re-plans. When the lock is still not granted after the last
    /// attempt, the failure names the lock wait. Returns null when done, or why it stopped early (--max-duration
    /// met between two attempts: nothing is in flight then, the next start goes on from the catalog).
    /// </summary>
    private static async Task<string?> RunDdlWithRetriesAsync(MainSession session, BackfillContext context, BackfillRequest request,
        Stopwatch clock, IReadOnlyList<SqlStatement> statements, Func<CancellationToken, Task<IReadOnlyList<SqlStatement>>> replan,
        string phase, string what, TimeSpan lockTimeout, IProgress<BackfillEvent>? events, CancellationToken ct)
    {
        var connectionFaults = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                foreach (var statement in statements)
                    await session.Connection.ExecuteAsync(context.Provider, statement, ct, timeoutSeconds: 0).ConfigureAwait(false);
                return null;
            }
            catch (Exception e) when (context.Provider.Errors.Classify(e) is ErrorKind.LockTimeout or ErrorKind.Deadlock)
            {
                if (attempt >= request.DdlRetries)
                    throw new PartitionOpsException(
                        $"{what}: the lock on {context.Display} was not granted in {request.DdlRetries} attempts of " +
                        $"{lockTimeout.TotalMilliseconds:0} ms lock timeout each: " +
                        "another session holds a conflicting lock (an open transaction that read or wrote the table). " +
                        "What this step had not done yet is unchanged; " +
                        $"run the same command again when that session has ended. Last error: {e.Message.Trim()}", e);
                var wait = RetryBackoff.Delay(attempt);
                // The next attempt would wait up to the lock timeout again after the back-off: stop now unless it fits.
                if (request.MaxDuration is { } max && clock.Elapsed + wait + lockTimeout >= max)
                {
                    var reason = $"max duration {max} reached in {what}, waiting for a lock on {context.Display} " +
                        $"(attempt {attempt}: {e.Message.Trim()})";
                    events?.Report(new(phase, reason));
                    return reason;
                }
                events?.Report(new(phase, $"lock not granted ({e.Message.Trim()}); " +
                    $"attempt {attempt} of {request.DdlRetries}, retrying in {wait.TotalSeconds:0.#}s"));
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (++connectionFaults <= RetryBackoff.ReconnectAttempts && session.IsConnectionFault(e))
            {
                attempt--;
                await session.ReconnectAsync(phase, e, ct).ConfigureAwait(false);
            }
            statements = await session.RunAsync(phase, (_, token) => replan(token), ct).ConfigureAwait(false);
            if (statements.Count == 0) return null;
        }
    }

    private static async Task<BackfillPlan> PlanAsync(DbConnection connection, BackfillContext context, BackfillRequest request,
        PlannedStep? columnStep, List<PlannedStep> indexSteps, CancellationToken ct)
    {
        var dialect = context.Dialect;
        var steps = new List<PlannedStep>();
        var controlExists = await connection.ScalarAsync<int>(context.Provider, dialect.ControlTablesExist(context.Table.ControlSchema), ct)
            .ConfigureAwait(false) == 1;
        if (!controlExists)
            steps.Add(new("control", $"create control tables in schema {context.Table.ControlSchema}",
                dialect.CreateControlTables(context.Table.ControlSchema)));
        if (columnStep != null) steps.Add(columnStep);
        steps.AddRange(indexSteps);
        if (!request.SkipBackfill)
        {
            // The walk binds its values per type and batch: the plan shows the statements' text, as it always did.
            var target = context.TargetValue(request.Direction);
            var typeId = context.SelectedTypes.Count > 0 ? context.SelectedTypes[0].Id : 0;
            SqlStatement[] walk =
            [
                dialect.HighWaterMark(context.Table, typeId),
                dialect.Batch(context.Table, runId: 0, typeId, Checkpoint.StartKey, long.MaxValue, request.BatchSize, target),
                dialect.Sweep(context.Table, runId: 0, typeId, long.MaxValue, request.BatchSize, target,
                    context.SourceValue(request.Direction)),
            ];
            steps.Add(new("backfill", $"walk {context.SelectedTypes.Count} types in key ranges of up to {request.BatchSize} rows, " +
                $"setting {context.Profile.PartitionColumn} = {target}; one statement per batch, checkpoint included",
                walk.Select(statement => new SqlStatement(statement.Text)).ToList()));
        }
        var types = context.ColumnExists
            ? (await ProgressReader.ReadAsync(connection, context, exact: false, ct).ConfigureAwait(false)).Types
            : [];
        return new BackfillPlan(context.Display, steps, types);
    }
}
