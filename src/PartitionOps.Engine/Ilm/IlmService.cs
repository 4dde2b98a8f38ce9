using System.Data.Common;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Ilm.Simulation;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm;

/// <summary>A dwh_ilm_config row, or a key's default when the table (or its row) does not exist (<see cref="IsDefault"/>).</summary>
public sealed record IlmConfigEntry(string Key, string? Value, string? Description)
{
    /// <summary>Not read from dwh_ilm_config: the spec's default, which applies until the key is set (or the first run seeds it).</summary>
    public bool IsDefault { get; init; }
}

/// <summary>The config rows and the values the engine derives from them.</summary>
public sealed record IlmConfigSnapshot(IlmConfig Config, IReadOnlyList<IlmConfigEntry> Entries)
{
    /// <summary>False when dwh_ilm_config does not exist yet: every entry is a default (reading never creates it).</summary>
    public bool TableExists { get; init; } = true;
}

/// <summary>
/// What front ends call for ILM (the <c>ilm</c> commands and the Ilm cmdlets). Every method validates
/// its input first: bad input throws <see cref="InvalidRequestException"/> before anything changes;
/// failures throw <see cref="PartitionOpsException"/> or come back as FAILED outcomes.
/// </summary>
public sealed class IlmService(TimeProvider? time = null, IIlmStatementHook? hook = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private DateOnly Today => DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime);

    // ---------------------------------------------------------------- plan

    /// <summary>Plans from a layout without a database; <paramref name="provider"/> chooses whose SQL to show.</summary>
    public static IlmPlanResult PlanOffline(
        PartitionLayout layout, IlmPolicy policy, DateOnly asOf, IDatabaseProvider provider, IlmConfig? config = null)
    {
        var dialect = IlmCatalog.DialectOf(provider);
        config ??= IlmConfig.Default;
        var plan = IlmPlanner.Plan(layout, policy, asOf, Options(config, dialect, null, policy));
        return Result(layout, plan, config, dialect, policy);
    }

    public async Task<IlmPlanResult> PlanAsync(IlmPlanRequest request, CancellationToken ct = default)
    {
        request.Overrides.Validate();
        var asOf = IlmInput.CheckDate(request.AsOf ?? Today, nameof(IlmPlanRequest.AsOf));
        if (request.Layout is { } offline)
        {
            var provider = request.Provider ?? request.Target?.Provider
                ?? throw new InvalidRequestException(nameof(DatabaseTarget.Provider), "",
                    "is needed to plan from a layout: it chooses whose statements to show (oracle or postgresql)");
            return PlanOffline(offline, request.Policy, asOf, provider, IlmConfig.Default.With(request.Overrides));
        }
        var target = request.Target
            ?? throw new InvalidRequestException(nameof(DatabaseTarget.ConnectionString), "", "is needed unless a layout is given");
        var names = Names.Of(target, request.Schema, request.Table, request.ControlSchema);
        await using var connection = await target.OpenAsync(ct).ConfigureAwait(false);
        var layout = await IlmCatalog.ReadAsync(connection, target.Provider, names.Schema, names.Table, ct).ConfigureAwait(false);
        var (policy, tablespaces) =
            await ResolvePolicyAsync(connection, target.Provider, names.Dialect, request.Policy, ct).ConfigureAwait(false);
        // A plan changes nothing: without control tables yet, the defaults apply.
        var config = (await TryReadConfigAsync(connection, target.Provider, names, ct).ConfigureAwait(false)).With(request.Overrides);
        var doNotMerge = config.MergeRetryFailed
            ? null
            : await TryFailedSourcesAsync(connection, target.Provider, names, layout, ct).ConfigureAwait(false);
        var plan = IlmPlanner.Plan(layout, policy, asOf, Options(config, names.Dialect, doNotMerge, policy));
        EnsureTablespacesExist(tablespaces, plan);
        return Result(layout, plan, config, names.Dialect, policy);
    }

    // ---------------------------------------------------------------- run

    /// <summary>
    /// Plans and runs one table: reconciles interrupted merges, then runs the actions one at a time,
    /// writing audit rows; a failed action is reported in its outcome and does not stop the others.
    /// </summary>
    public async Task<IlmRunResult> RunAsync(IlmRunRequest request, IProgress<IlmProgress>? progress = null, CancellationToken ct = default)
    {
        request.Overrides.Validate();
        if (request.MaxDuration is { } limit && (limit < TimeSpan.Zero || limit > TimeSpan.FromDays(366)))
            throw new InvalidRequestException(nameof(IlmRunRequest.MaxDuration), limit, "must be from 0 to 366 days");
        var started = _time.GetTimestamp();
        var asOf = IlmInput.CheckDate(request.AsOf ?? Today, nameof(IlmRunRequest.AsOf));
        var provider = request.Target.Provider;
        var names = Names.Of(request.Target, request.Schema, request.Table, request.ControlSchema);
        var dialect = names.Dialect;
        await using var connection = await request.Target.OpenAsync(ct).ConfigureAwait(false);
        var layout = await IlmCatalog.ReadAsync(connection, provider, names.Schema, names.Table, ct).ConfigureAwait(false);
        var (policy, tablespaces) = await ResolvePolicyAsync(connection, provider, dialect, request.Policy, ct).ConfigureAwait(false);

        if (request.DryRun)
        {
            var config = (await TryReadConfigAsync(connection, provider, names, ct).ConfigureAwait(false)).With(request.Overrides);
            var doNotMerge = config.MergeRetryFailed
                ? null
                : await TryFailedSourcesAsync(connection, provider, names, layout, ct).ConfigureAwait(false);
            var dryPlan = PlanRun(layout, policy, asOf, Options(config, dialect, doNotMerge, policy), request.Only);
            EnsureTablespacesExist(tablespaces, dryPlan);
            var shown = Result(layout, dryPlan, config, dialect, policy);
            return new IlmRunResult(shown,
                shown.Steps.Select(s =>
                    new ActionOutcome(s.Action, IlmStatus.Planned, null, null, TimeSpan.Zero, null, null, s.Statements)).ToList(),
                [], DryRun: true) { Only = request.Only };
        }

        // Bad tablespaces and choices that cannot run are bad input: find them before anything is written (reads only).
        var readConfig = (await TryReadConfigAsync(connection, provider, names, ct).ConfigureAwait(false)).With(request.Overrides);
        var provisional = PlanRun(layout, policy, asOf, Options(readConfig, dialect, null, policy), request.Only);
        EnsureTablespacesExist(tablespaces, provisional);

        var locked = await TryLockAsync(connection, provider, dialect, layout, ct).ConfigureAwait(false);
        try
        {
            // Plan under the lock: another run may have changed the table while this one waited to start, so everything
            // above was only to refuse bad input early; the layout the plan is made from is read again now.
            layout = await IlmCatalog.ReadAsync(connection, provider, names.Schema, names.Table, ct).ConfigureAwait(false);
            await EnsureControlTablesAsync(connection, provider, dialect, names.ControlSchema, ct).ConfigureAwait(false);
            var config = IlmConfig.FromValues(
                (await ReadConfigRowsAsync(connection, provider, dialect, names.ControlSchema, ct).ConfigureAwait(false))
                .ToDictionary(e => e.Key, e => e.Value, StringComparer.OrdinalIgnoreCase)).With(request.Overrides);
            await connection.ExecuteAsync(provider, dialect.SetLockTimeout(config.MergeLockTimeoutSeconds), ct).ConfigureAwait(false);

            var leftovers = await DropLeftoversAsync(connection, provider, dialect, layout, ct).ConfigureAwait(false);
            var reconciled = await ReconcileAsync(connection, provider, names, layout, policy.Online, ct).ConfigureAwait(false);
            if (reconciled.Count > 0)
                layout = await IlmCatalog.ReadAsync(connection, provider, names.Schema, names.Table, ct).ConfigureAwait(false);

            var doNotMerge = config.MergeRetryFailed
                ? null
                : await FailedSourcesAsync(connection, provider, names, layout, ct).ConfigureAwait(false);
            // Under the lock, after reconciling: planned again, so a choice the table no longer allows (another run
            // did it meanwhile) is still refused before any action runs.
            var plan = PlanRun(layout, policy, asOf, Options(config, dialect, doNotMerge, policy), request.Only);
            EnsureTablespacesExist(tablespaces, plan);
            var planned = Result(layout, plan, config, dialect, policy);

            var executor = new IlmExecutor(connection, provider, dialect, names.ControlSchema, layout, policy.Online,
                policy.MergeMethod, TimeSpan.FromSeconds(config.MergeLockTimeoutSeconds), hook);
            var (outcomes, notStarted) = await executor.RunPlanAsync(plan,
                () => request.MaxDuration is { } max && _time.GetElapsedTime(started) >= max, progress, ct).ConfigureAwait(false);
            return new IlmRunResult(planned, outcomes, reconciled, DryRun: false)
            {
                NotStarted = notStarted,
                Only = request.Only,
                LeftoversDropped = leftovers,
            };
        }
        finally
        {
            if (locked && dialect.UnlockTable(layout.Schema, layout.Table) is { } unlock)
                await connection.ExecuteAsync(provider, unlock, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- snapshot, summary

    /// <summary>ilm snapshot: the table's layout, to save with <see cref="LayoutJson.Save"/>.</summary>
    public async Task<PartitionLayout> SnapshotAsync(IlmTableRequest request, CancellationToken ct = default)
    {
        var names = Names.Of(request.Target, request.Schema, request.Table, request.ControlSchema);
        await using var connection = await request.Target.OpenAsync(ct).ConfigureAwait(false);
        return await IlmCatalog.ReadAsync(connection, request.Target.Provider, names.Schema, names.Table, ct).ConfigureAwait(false);
    }

    /// <summary>Partitions per tier (yearly vs monthly) of one table.</summary>
    public async Task<IlmSummary> SummaryAsync(IlmTableRequest request, IlmPolicy? policy = null, CancellationToken ct = default) =>
        IlmSummary.FromLayout(await SnapshotAsync(request, ct).ConfigureAwait(false), policy ?? IlmPolicy.Default);

    // ---------------------------------------------------------------- monitoring

    /// <summary>Merge audit rows, newest first; none when the control tables do not exist yet (reads only, creates nothing).</summary>
    public async Task<IReadOnlyList<MergeAuditRecord>> HistoryAsync(IlmHistoryRequest request, CancellationToken ct = default)
    {
        if (request.MaxRows is < 1 or > 1_000_000)
            throw new InvalidRequestException(nameof(IlmHistoryRequest.MaxRows), request.MaxRows, "must be from 1 to 1,000,000");
        var names = Names.Of(request.Target, request.Schema, request.Table, request.ControlSchema, tableRequired: false);
        await using var connection = await request.Target.OpenAsync(ct).ConfigureAwait(false);
        var provider = request.Target.Provider;
        if (!await ControlTableExistsAsync(connection, provider, names, MergesTable, ct).ConfigureAwait(false)) return [];
        var owner = request.Table is null ? null : names.Schema;
        return await connection.QueryAsync(provider,
            names.Dialect.MergeHistory(names.ControlSchema, owner, request.Table is null ? null : names.Table, request.MaxRows),
            ReadAudit, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The spec's alerts and criteria; with no merge audit yet (no control tables) they are judged on no merges. Reads only.
    /// </summary>
    public async Task<IlmHealthReport> HealthAsync(IlmHealthRequest request, CancellationToken ct = default)
    {
        request.Thresholds.Validate();
        if (request.VerifyIndexes && request.Table is null)
            throw new InvalidRequestException(nameof(IlmHealthRequest.VerifyIndexes), "",
                "needs the table to verify: it reads the indexes of one table's partitions");
        var names = Names.Of(request.Target, request.Schema, request.Table, request.ControlSchema, tableRequired: false);
        var provider = request.Target.Provider;
        await using var connection = await request.Target.OpenAsync(ct).ConfigureAwait(false);
        IlmSummary? summary = null;
        IndexVerification? indexes = null;
        IReadOnlyList<IlmLeftover> leftovers = [];
        var runInProgress = false;
        if (request.Table != null)
        {
            var layout = await IlmCatalog.ReadAsync(connection, provider, names.Schema, names.Table, ct).ConfigureAwait(false);
            summary = IlmSummary.FromLayout(layout, request.Policy);
            if (request.VerifyIndexes)
                indexes = await IndexVerifier.VerifyAsync(connection, provider, names.Dialect.IndexChecks, names.Dialect.ProviderName,
                    layout.Schema, layout.Table, ct).ConfigureAwait(false);
            leftovers = await FindLeftoversAsync(connection, provider, names.Dialect, layout, ct).ConfigureAwait(false);
            if (leftovers.Count > 0 && names.Dialect.TableLockHeld(layout.Schema, layout.Table) is { } held)
                runInProgress = await connection.ScalarAsync<bool>(provider, held, ct).ConfigureAwait(false);
        }
        var table = request.Table is null ? null : names.Table;
        if (!await ControlTableExistsAsync(connection, provider, names, MergesTable, ct).ConfigureAwait(false))
            return IlmHealth.Evaluate(table, new MergeStatistics(0, 0, 0, null, null), 0, summary, request.Thresholds, indexes,
                leftovers, runInProgress);
        var stats = (await connection.QueryAsync(provider,
            names.Dialect.MergeStatistics(names.ControlSchema, table, request.Thresholds.WindowDays), r =>
            new MergeStatistics(
                r.Get<long?>("total_merges") ?? 0,
                r.Get<long?>("succeeded") ?? 0,
                r.Get<long?>("failed") ?? 0,
                r.Get<decimal?>("avg_success_seconds"),
                r.Get<decimal?>("max_seconds")), ct).ConfigureAwait(false)).Single();
        var stale = await connection.ScalarAsync<long>(provider,
            names.Dialect.StaleFailedMerges(names.ControlSchema, table, request.Thresholds.FailedNotRetriedDays), ct).ConfigureAwait(false);
        return IlmHealth.Evaluate(table, stats, stale, summary, request.Thresholds, indexes, leftovers, runInProgress);
    }


    // ---------------------------------------------------------------- simulate

    public IlmSimulationResult Simulate(IlmSimulateRequest request)
    {
        // A trillion rows a month is past any table; more is a typo.
        if (request.RowsPerNewMonth is > 1_000_000_000_000)
            throw new InvalidRequestException(
                nameof(IlmSimulateRequest.RowsPerNewMonth), request.RowsPerNewMonth, "must be at most 1,000,000,000,000");
        IlmInput.CheckDate(request.From, nameof(IlmSimulateRequest.From));
        IlmInput.CheckDate(request.To, nameof(IlmSimulateRequest.To));
        if (request.RowsPerNewMonth is < 0)
            throw new InvalidRequestException(nameof(IlmSimulateRequest.RowsPerNewMonth), request.RowsPerNewMonth, "must be 0 or more");
        var dialect = request.Provider is null ? null : IlmCatalog.DialectOf(request.Provider);
        var options = new IlmPlanOptions
        {
            MultiPartitionMerge = dialect?.MultiPartitionMerge ?? true,
            MergeRewritesTarget = dialect is null || RewritesTarget(dialect, request.Policy.MergeMethod),
        };
        // Each method the engine offers is costed too, with the engine's own rewriting as the in_place baseline.
        var methodBase = options with { MergeRewritesTarget = dialect?.MergeRewritesTarget ?? true };
        var result = IlmSimulator.Simulate(request.Layout, request.Policy, request.From, request.To, request.Strategies, options,
            request.RowsPerNewMonth);
        if (dialect is null || dialect.MergeMethods.Count == 0) return result;
        var costed = IlmSimulator.Simulate(request.Layout, request.Policy, request.From, request.To, request.Strategies, methodBase,
            request.RowsPerNewMonth, dialect.MergeMethods);
        return result with
        {
            Strategies = result.Strategies.Zip(costed.Strategies, (walk, cost) => walk with { Methods = cost.Methods }).ToList(),
        };
    }

    // ---------------------------------------------------------------- config

    /// <summary>
    /// The dwh_ilm_config rows and the config they make. Reads only: when the table does not exist yet, the spec's
    /// defaults, marked <see cref="IlmConfigEntry.IsDefault"/> (as is a key whose row is missing); nothing is created.
    /// </summary>
    public async Task<IlmConfigSnapshot> GetConfigAsync(IlmConfigRequest request, CancellationToken ct = default)
    {
        var names = Names.Of(request.Target, null, null, request.ControlSchema, tableRequired: false);
        var provider = request.Target.Provider;
        await using var connection = await request.Target.OpenAsync(ct).ConfigureAwait(false);
        var exists = await ControlTableExistsAsync(connection, provider, names, ConfigTable, ct).ConfigureAwait(false);
        var rows = exists
            ? await ReadConfigRowsAsync(connection, provider, names.Dialect, names.ControlSchema, ct).ConfigureAwait(false)
            : [];
        var entries = rows
            .Concat(IlmConfig.Defaults
                .Where(d => !rows.Any(r => r.Key.Equals(d.Key, StringComparison.OrdinalIgnoreCase)))
                .Select(d => new IlmConfigEntry(d.Key, d.Value, d.Description) { IsDefault = true }))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .ToList();
        return new IlmConfigSnapshot(
            IlmConfig.FromValues(rows.ToDictionary(e => e.Key, e => e.Value, StringComparer.OrdinalIgnoreCase)), entries)
        {
            TableExists = exists,
        };
    }

    public async Task SetConfigAsync(IlmSetConfigRequest request, CancellationToken ct = default)
    {
        var key = request.Key?.Trim().ToUpperInvariant() ?? "";
        var value = IlmConfig.Normalize(key, request.Value);
        // dwh_ilm_config.description is varchar(4000) / VARCHAR2(4000); text that long (or one line break past it) is a mistake.
        if (request.Description is { } description && (description.Length > 4000 || description.Any(c => char.IsControl(c) && c != '\n')))
            throw new InvalidRequestException(nameof(IlmSetConfigRequest.Description), description,
                "must be at most 4,000 characters with no control character other than a line break");
        var names = Names.Of(request.Target, null, null, request.ControlSchema, tableRequired: false);
        await using var connection = await request.Target.OpenAsync(ct).ConfigureAwait(false);
        await EnsureControlTablesAsync(connection, request.Target.Provider, names.Dialect, names.ControlSchema, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(request.Target.Provider,
            names.Dialect.SetConfig(names.ControlSchema, key, value, request.Description), ct).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- helpers

    private sealed record Names(IIlmDialect Dialect, string? Schema, string Table, string? ControlSchema)
    {
        public static Names Of(DatabaseTarget target, string? schema, string? table, string? controlSchema, bool tableRequired = true)
        {
            var dialect = IlmCatalog.DialectOf(target.Provider);
            if (tableRequired || table != null) Identifier.Validate(table, nameof(IlmTableRequest.Table));
            if (schema != null) Identifier.ValidateSchema(schema, nameof(IlmTableRequest.Schema));
            if (controlSchema != null) Identifier.ValidateSchema(controlSchema, nameof(IlmTableRequest.ControlSchema));
            return new Names(
                dialect,
                schema is null ? dialect.DefaultSchema : dialect.NormalizeName(schema),
                table is null ? "" : dialect.NormalizeName(table),
                controlSchema is null ? dialect.DefaultControlSchema : dialect.NormalizeName(controlSchema));
        }
    }

    /// <summary>The run's plan: the whole plan, or only the chosen actions (<see cref="IlmActionSelector"/>).</summary>
    private static IlmPlan PlanRun(
        PartitionLayout layout, IlmPolicy policy, DateOnly asOf, IlmPlanOptions options, IReadOnlyList<IlmActionKey>? only) =>
        only is null ? IlmPlanner.Plan(layout, policy, asOf, options) : IlmActionSelector.Select(layout, policy, asOf, options, only);

    private static IlmPlanOptions Options(IlmConfig config, IIlmDialect dialect, IReadOnlySet<string>? doNotMerge, IlmPolicy policy) =>
        new()
    {
        MergesEnabled = config.AutoMergePartitions,
        MaxMerges = config.MaxMergesPerRun,
        DoNotMerge = doNotMerge ?? new HashSet<string>(StringComparer.OrdinalIgnoreCase),
        MultiPartitionMerge = dialect.MultiPartitionMerge,
        MergeRewritesTarget = RewritesTarget(dialect, policy.MergeMethod),
    };

    /// <summary>Whether a merge rewrites the partition that grows: always on Oracle, with the rebuild method on PostgreSQL.</summary>
    internal static bool RewritesTarget(IIlmDialect dialect, MergeMethod method) =>
        dialect.MergeRewritesTarget || (method == MergeMethod.Rebuild && dialect.MergeMethods.Contains(MergeMethod.Rebuild));

    private static IlmPlanResult Result(PartitionLayout layout, IlmPlan plan, IlmConfig config, IIlmDialect dialect, IlmPolicy policy) =>
        new(layout, plan,
            plan.Work.Select(a => new PlannedAction(a, IlmExecutor.StatementsFor(dialect, layout, a, policy.Online, policy.MergeMethod)))
                .ToList(),
            config, dialect.ProviderName)
        {
            SessionSetup = [dialect.SetLockTimeout(config.MergeLockTimeoutSeconds)],
        };

    /// <summary>
    /// The policy with its tablespace names spelled as the database spells them (<see cref="IlmPolicy.ResolveTablespaces"/>),
    /// and the database's tablespaces; before planning, because the planner compares them with the partitions' tablespaces.
    /// </summary>
    private static async Task<(IlmPolicy Policy, IReadOnlySet<string> Tablespaces)> ResolvePolicyAsync(DbConnection connection,
        IDatabaseProvider provider, IIlmDialect dialect, IlmPolicy policy, CancellationToken ct)
    {
        var names = await connection.QueryAsync(provider, dialect.Tablespaces(), r => r.Get<string>("tablespace_name")!, ct)
            .ConfigureAwait(false);
        var existing = names.ToHashSet(StringComparer.Ordinal);
        return (policy.ResolveTablespaces(existing), existing);
    }

    /// <summary>A tablespace the plan moves or merges into must exist (names already resolved): bad input naming it otherwise.</summary>
    private static void EnsureTablespacesExist(IReadOnlySet<string> existing, IlmPlan plan)
    {
        var needed = plan.Work
            .Select(a => a switch
            {
                MoveAction m => (m.ToTablespace, m.Tier),
                MergeAction m => (m.Tablespace, m.Tier),
                _ => (null!, IlmTier.Hot),
            })
            .Where(x => x.Item1 != null)
            .DistinctBy(x => x.Item1, StringComparer.Ordinal);
        foreach (var (tablespace, tier) in needed)
        {
            if (!existing.Contains(tablespace))
                throw new InvalidRequestException(nameof(IlmRunRequest.Policy), "tablespace", tablespace,
                    $"does not exist (the policy's {tier.ToString().ToLowerInvariant()} tier names it): create it or fix the policy");
        }
    }

    private async Task<bool> TryLockAsync(DbConnection connection, IDatabaseProvider provider, IIlmDialect dialect, PartitionLayout layout,
        CancellationToken ct)
    {
        if (dialect.TryLockTable(layout.Schema, layout.Table) is not { } statement) return false;
        if (hook != null)
            await hook.BeforeAsync(new IlmStatementPoint(null, "run-lock", 0, statement, connection), ct).ConfigureAwait(false);
        var got = await connection.ScalarAsync<bool>(provider, statement, ct).ConfigureAwait(false);
        return got
            ? true
            : throw new PartitionOpsException(
                $"another ILM run is working on {layout.Schema}.{layout.Table}: try again when it has finished");
    }

    /// <summary>
    /// Creates the control tables if missing and seeds the config. With transactional DDL (PostgreSQL) in one
    /// transaction serialized with backfill's creators and retried when another creator won the race
    /// (<see cref="ControlTables.CreateAsync"/>). Oracle's DDL commits on its own; its statements skip what exists.
    /// </summary>
    private static async Task EnsureControlTablesAsync(
        DbConnection connection, IDatabaseProvider provider, IIlmDialect dialect, string? controlSchema, CancellationToken ct)
    {
        var statements = dialect.CreateControlTables(controlSchema)
            .Concat(IlmConfig.Defaults.Select(d => dialect.SeedConfig(controlSchema, d.Key, d.Value, d.Description)))
            .ToList();
        if (!dialect.TransactionalDdl)
        {
            foreach (var s in statements) await connection.ExecuteAsync(provider, s, ct).ConfigureAwait(false);
            return;
        }
        await ControlTables.CreateAsync(connection, provider, statements, ct).ConfigureAwait(false);
    }

    private static Task<List<IlmConfigEntry>> ReadConfigRowsAsync(
        DbConnection connection, IDatabaseProvider provider, IIlmDialect dialect, string? controlSchema, CancellationToken ct) =>
        connection.QueryAsync(provider, dialect.ReadConfig(controlSchema),
            r => new IlmConfigEntry(r.Get<string>("config_key")!, r.Get<string>("config_value"), r.Get<string>("description")), ct);

    private const string ConfigTable = "dwh_ilm_config";
    private const string MergesTable = "dwh_ilm_partition_merges";

    private static async Task<bool> ControlTableExistsAsync(
        DbConnection connection, IDatabaseProvider provider, Names names, string table, CancellationToken ct) =>
        await connection.ScalarAsync<long>(provider, names.Dialect.ControlTableExists(names.ControlSchema, table), ct)
            .ConfigureAwait(false) > 0;

    /// <summary>Config for a read-only plan: the defaults when the control tables do not exist yet.</summary>
    private static async Task<IlmConfig> TryReadConfigAsync(
        DbConnection connection, IDatabaseProvider provider, Names names, CancellationToken ct)
    {
        if (!await ControlTableExistsAsync(connection, provider, names, ConfigTable, ct).ConfigureAwait(false)) return IlmConfig.Default;
        var rows = await ReadConfigRowsAsync(connection, provider, names.Dialect, names.ControlSchema, ct).ConfigureAwait(false);
        return IlmConfig.FromValues(rows.ToDictionary(e => e.Key, e => e.Value, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Failed sources for a read-only plan: none when there is no merge audit yet.</summary>
    private static async Task<IReadOnlySet<string>?> TryFailedSourcesAsync(
        DbConnection connection, IDatabaseProvider provider, Names names, PartitionLayout layout, CancellationToken ct) =>
        await ControlTableExistsAsync(connection, provider, names, MergesTable, ct).ConfigureAwait(false)
            ? await FailedSourcesAsync(connection, provider, names, layout, ct).ConfigureAwait(false)
            : null;

    /// <summary>Partitions whose latest merge FAILED (kept out of merges when MERGE_RETRY_FAILED = N).</summary>
    private static async Task<IReadOnlySet<string>> FailedSourcesAsync(
        DbConnection connection, IDatabaseProvider provider, Names names, PartitionLayout layout, CancellationToken ct)
    {
        var rows = await connection.QueryAsync(provider, names.Dialect.LatestMergeStatus(names.ControlSchema, layout.Schema, layout.Table),
            r => (Source: r.Get<string>("source_partition")!, Status: r.Get<string>("merge_status")!), ct).ConfigureAwait(false);
        return rows.Where(r => r.Status == IlmStatus.Failed).Select(r => r.Source).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Drops what failed runs of ours left on the table (under the run lock, so no run of ours is using it): a change
    /// capture function (with its triggers) and log table, a rebuild table (each marked by its comment, never a partition)
    /// or the temporary CHECK constraint of an in_place merge, in the order the dialect gives.
    /// </summary>
    private static async Task<IReadOnlyList<string>> DropLeftoversAsync(DbConnection connection, IDatabaseProvider provider,
        IIlmDialect dialect, PartitionLayout layout, CancellationToken ct)
    {
        var found = await FindLeftoversAsync(connection, provider, dialect, layout, ct).ConfigureAwait(false);
        foreach (var leftover in found)
            await connection.ExecuteAsync(provider, leftover.Drop, ct).ConfigureAwait(false);
        return found.Select(f => f.Kind == "constraint" ? $"temporary {f.Kind} on {f.Name}" : $"{f.Kind} {f.Name}").ToList();
    }

    /// <summary>Objects of ours on the table, in the order they are dropped, each with the statement that drops it.</summary>
    private static async Task<IReadOnlyList<IlmLeftover>> FindLeftoversAsync(DbConnection connection, IDatabaseProvider provider,
        IIlmDialect dialect, PartitionLayout layout, CancellationToken ct)
    {
        if (dialect.Leftovers(layout.Schema, layout.Table) is not { } query) return [];
        var found = await connection.QueryAsync(provider, query,
            r => (Kind: r.Get<string>("leftover_kind")!, Name: r.Get<string>("leftover_name")!), ct).ConfigureAwait(false);
        return found.Select(f => new IlmLeftover(f.Kind, f.Name, dialect.DropLeftover(layout.Schema, layout.Table, f.Kind, f.Name),
            dialect.DropLeftoverByHand(layout.Schema, layout.Table, f.Kind, f.Name))).ToList();
    }

    private static async Task<IReadOnlyList<ReconcileDecision>> ReconcileAsync(
        DbConnection connection, IDatabaseProvider provider, Names names, PartitionLayout layout, bool online, CancellationToken ct)
    {
        var dialect = names.Dialect;
        var rows = await connection.QueryAsync(
            provider, dialect.InProgressMerges(names.ControlSchema, layout.Schema, layout.Table), ReadAudit, ct).ConfigureAwait(false);
        if (rows.Count == 0) return [];
        var decisions = MergeReconciler.Decide(layout, rows);
        foreach (var d in decisions)
        {
            var status = d.Outcome is ReconcileOutcome.Completed or ReconcileOutcome.RenameNeeded ? IlmStatus.Success : IlmStatus.Failed;
            var message = d.Message;
            if (d.Outcome == ReconcileOutcome.RenameNeeded)
            {
                try
                {
                    foreach (var s in dialect.Rename(
                                 layout, new RenameAction(d.RenameFrom!, d.TargetPartition, "reconcile an interrupted merge")))
                        await connection.ExecuteAsync(provider, s, ct).ConfigureAwait(false);
                }
                catch (DbException)
                {
                    continue; // still IN_PROGRESS: the next run tries again
                }
            }
            foreach (var row in d.Rows)
                await connection.ExecuteAsync(provider, dialect.CompleteMergeAudit(names.ControlSchema, new MergeAuditEntry(
                    row.TableOwner, row.TableName, row.SourcePartition, row.TargetPartition, status, message, row.DurationSeconds,
                    row.RowsMerged)), ct).ConfigureAwait(false);
        }
        return decisions;
    }

    private static MergeAuditRecord ReadAudit(DbDataReader r) => new(
        r.Get<long>("merge_id"),
        r.Get<DateTime?>("merge_date"),
        r.Get<string>("table_owner")!,
        r.Get<string>("table_name")!,
        r.Get<string>("source_partition")!,
        r.Get<string>("target_partition")!,
        r.Get<string>("merge_status")!,
        r.Get<string>("error_message"),
        r.Get<decimal?>("duration_seconds"),
        r.Get<long?>("rows_merged"));
}
