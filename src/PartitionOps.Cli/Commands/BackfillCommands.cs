using Spectre.Console;
using System.CommandLine;
using System.Globalization;
using PartitionOps.Cli.Output;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.Cli.Commands;

/// <summary>
/// `backfill start | progress | validate | undo | stop` (DESIGN §5), and `check` (the pre-flight of
/// Test-BackfillPrerequisite, for hosts without PowerShell): options mapped onto
/// <see cref="BackfillRequest"/> / <see cref="BackfillScope"/>, the engine called, its result written.
/// </summary>
internal static class BackfillCommands
{
    public static Command Create(CliHost host)
    {
        var backfill = new Command("backfill", "Incremental backfill of the partition column (spec/incremental-backfill.md).");
        backfill.Add(Start(host));
        backfill.Add(Progress(host));
        backfill.Add(Validate(host));
        backfill.Add(Undo(host));
        backfill.Add(Stop(host));
        backfill.Add(Check(host));
        return backfill;
    }

    // ------------------------------------------------------------------ commands

    private static Command Start(CliHost host)
    {
        var command = new Command("start",
            "Phase 1 (column), phase 2 (filtered indexes) and phase 3 (batched backfill); resumes a paused run.");
        var scope = ScopeOptions.AddTo(command, withResourceTypes: true);
        var run = RunOptions.AddTo(command);
        var skipIndexes = new Option<bool>("--skip-indexes") { Description = "Do not build the filtered indexes (phase 2)." };
        var phase = new Option<string?>("--phase")
        {
            Description = "Run one phase alone: column (1), indexes (2, e.g. outside a --max-duration job: on SQL Server the filtered " +
                          "index builds cannot be paused), backfill (3); default all.",
            HelpName = "all|column|indexes|backfill",
        };
        var index = IndexOptions.AddTo(command);
        command.Add(skipIndexes);
        command.Add(phase);
        command.SetRun(host, scope.Common.Json, async (parse, output) =>
        {
            var request = run.Apply(parse, new BackfillRequest
            {
                Scope = scope.Scope(parse),
                SkipIndexes = parse.GetValue(skipIndexes),
                Phase = Phase(parse.GetValue(phase)),
                Index = index.Build(parse),
            });
            if (index.BuildRate(parse) is { } rate) request = request with { IndexBuildRowsPerSecond = rate };
            return await RunAsync(output, request, "backfill",
                (r, events, ct) => new BackfillService().StartAsync(r, events, ct)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Undo(CliHost host)
    {
        var command = new Command("undo",
            "Puts the system types (all, or --resource-type ones) back to the default value, batched and resumable.");
        var scope = ScopeOptions.AddTo(command, withResourceTypes: true);
        var run = RunOptions.AddTo(command);
        command.SetRun(host, scope.Common.Json, async (parse, output) =>
        {
            var request = run.Apply(parse, new BackfillRequest { Scope = scope.Scope(parse) });
            return await RunAsync(output, request, "undo",
                (r, events, ct) => new BackfillService().UndoAsync(r, events, ct)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Progress(CliHost host)
    {
        var command = new Command("progress", "Progress per type from the checkpoints and catalog estimates (cheap), or exact counts.");
        var scope = ScopeOptions.AddTo(command, withResourceTypes: false);
        var exact = new Option<bool>("--exact") { Description = "Count rows exactly (scans the system types' rows)." };
        command.Add(exact);
        command.SetRun(host, scope.Common.Json, async (parse, output) =>
        {
            var report = await new BackfillService().GetProgressAsync(scope.Scope(parse), parse.GetValue(exact),
                output.Cancellation).ConfigureAwait(false);
            output.Result(report, console => Tables.Progress(console, report));
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Validate(CliHost host)
    {
        var command = new Command("validate",
            "The spec's health checks: every system row in the system partition, every other row in the default one. Exit 3 when a row " +
            "is misplaced.");
        var scope = ScopeOptions.AddTo(command, withResourceTypes: true);
        command.SetRun(host, scope.Common.Json, async (parse, output) =>
        {
            var report = await new BackfillService().ValidateAsync(scope.Scope(parse), output.Cancellation).ConfigureAwait(false);
            output.Result(report, console => Tables.Integrity(console, report));
            if (output.Json && !report.Passed)
                output.Warn($"{report.Table}: {report.MisplacedSystemRows:N0} system rows and {report.MisplacedUserRows:N0} user rows " +
                    $"are misplaced");
            return ExitCodes.ForCheck(report.Passed);
        });
        return command;
    }

    private static Command Stop(CliHost host)
    {
        var command = new Command("stop", "Asks running workers to stop after their current batch (they pause; the next start resumes).");
        var scope = ScopeOptions.AddTo(command, withResourceTypes: false);
        command.SetRun(host, scope.Common.Json, async (parse, output) =>
        {
            var stop = await new BackfillService().RequestStopAsync(scope.Scope(parse), output.Cancellation).ConfigureAwait(false);
            output.Result(stop, console => console.WriteLine(stop.Summary));
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Check(CliHost host)
    {
        var command = new Command("check",
            "Pre-flight: server version and edition, the lookup table, permissions, and the time a run would take from one sample batch " +
            "(rolled back). Changes nothing. Exit 3 when a check fails.");
        var scope = ScopeOptions.AddTo(command, withResourceTypes: true);
        var batchSize = Numbers.Int("--batch-size", "Rows of the sample batch (default 1000).", "N");
        command.Add(batchSize);
        var index = IndexOptions.AddTo(command);
        command.SetRun(host, scope.Common.Json, async (parse, output) =>
        {
            var request = new BackfillRequest { Scope = scope.Scope(parse), Index = index.Build(parse) };
            if (index.BuildRate(parse) is { } rate) request = request with { IndexBuildRowsPerSecond = rate };
            if (parse.GetValue(batchSize) is { } size) request = request with { BatchSize = size };
            var report = await new BackfillService().TestPrerequisitesAsync(request, output.Cancellation).ConfigureAwait(false);
            output.Result(report, console => Tables.Prerequisites(console, report));
            if (output.Json && !report.Passed)
                output.Warn($"{report.Table}: failed checks: {string.Join(", ", report.Checks.Where(c => !c.Passed).Select(c => c.Name))}");
            return ExitCodes.ForCheck(report.Passed);
        });
        return command;
    }

    // ------------------------------------------------------------------ shared

    private static async Task<int> RunAsync(CliOutput output, BackfillRequest request, string verb,
        Func<BackfillRequest, IProgress<BackfillEvent>, CancellationToken, Task<BackfillResult>> call)
    {
        if (request.DryRun)
        {
            var planned = await call(request, NullProgress.Instance, output.Cancellation).ConfigureAwait(false);
            output.Result(planned, console => Tables.Plan(console, planned.Plan!));
            return ExitCodes.Done;
        }
        var result = await ProgressRenderer.RunAsync(output, events => call(request, events, output.Cancellation)).ConfigureAwait(false);
        output.Result(result, console => Tables.Run(console, result, verb));
        if (output.Json)
        {
            if (result.Status == BackfillStatus.Paused)
                output.Info($"{verb} paused ({result.StopReason}): run the same command again to resume where it stopped");
            else if (result.Status == BackfillStatus.Failed)
                output.Warn(result.FailedTypes.Count > 0
                    ? $"{verb} failed for {string.Join(", ", result.FailedTypes)}: {result.StopReason}"
                    : $"{verb} failed: {result.StopReason}");
        }
        return ExitCodes.ForRun(result);
    }

    private sealed class NullProgress : IProgress<BackfillEvent>
    {
        public static readonly NullProgress Instance = new();
        public void Report(BackfillEvent value) { }
    }

    /// <summary>The common options plus what says which table: --profile and --resource-type.</summary>
    private sealed class ScopeOptions
    {
        public required CommonOptions Common { get; init; }
        public required Option<string?> Profile { get; init; }
        public Option<string[]>? ResourceTypes { get; init; }

        public static ScopeOptions AddTo(Command command, bool withResourceTypes)
        {
            var options = new ScopeOptions
            {
                Common = CommonOptions.AddTo(command),
                Profile = new Option<string?>("--profile")
                {
                    Description = "'fhir' (default: dbo/public.Resource by ResourceType) or a JSON profile file naming another table.",
                    HelpName = "fhir|FILE",
                },
                ResourceTypes = withResourceTypes
                    ? new Option<string[]>("--resource-type")
                    {
                        Description = "Work on this system type only (repeatable; default: all of the profile's system types).",
                        HelpName = "NAME",
                        Arity = ArgumentArity.ZeroOrMore,
                    }
                    : null,
            };
            command.Add(options.Profile);
            if (options.ResourceTypes != null) command.Add(options.ResourceTypes);
            return options;
        }

        public BackfillScope Scope(ParseResult parse) => new()
        {
            Target = Common.Target(parse),
            Profile = BackfillProfile.Load(parse.GetValue(Profile)),
            Schema = parse.GetValue(Common.Schema),
            ControlSchema = parse.GetValue(Common.ControlSchema),
            ResourceTypes = ResourceTypes is null ? [] : parse.GetValue(ResourceTypes) ?? [],
        };
    }

    /// <summary>How a run (start or undo) moves rows: batches, pacing, parallelism, time box, throttles, plan only.</summary>
    internal sealed class RunOptions
    {
        private readonly Option<int?> _batchSize = Numbers.Int("--batch-size",
            "First batch size in rows; it adapts toward --target-batch-ms (default 1000).", "N");
        private readonly Option<int?> _targetBatchMs = Numbers.Int("--target-batch-ms",
            "Batch time the size adapts to; 0 keeps the size fixed (default 500).", "N");
        private readonly Option<int?> _delayMs = Numbers.Int("--delay-ms", "Pause between batches of one worker (default 0).", "N");
        private readonly Option<int?> _parallel = Numbers.Int("--parallel", "Types worked at once (default 1).", "N");
        private readonly Option<string?> _maxDuration = new("--max-duration") { Description = "Pause cleanly after the batch that " +
            "crosses this time (exit 0; rerun resumes).", HelpName = "hh:mm:ss" };
        private readonly Option<int?> _lockTimeoutMs = Numbers.Int("--lock-timeout-ms",
            "Lock timeout of each batch; a timeout is retried (default 5000).", "N");
        private readonly Option<int?> _ddlLockTimeoutMs = Numbers.Int("--ddl-lock-timeout-ms",
            "Lock timeout of each phase-1/phase-2 statement; application writes queue behind it, so keep it short; " +
            "retried (default 2000).", "N");
        private readonly Option<string?> _throttleQuery = new("--throttle-query") { Description = "A query returning one number: when " +
            "positive, wait that many milliseconds.", HelpName = "SQL" };
        private readonly Option<string?> _maxReplicaLag = Numbers.Limit("--max-replica-lag",
            "Wait while a replica lags more than this (default 30; off: not checked).", "SECONDS|off");
        private readonly Option<string?> _maxLogUsed = Numbers.Limit("--max-log-used",
            "Wait while the log is fuller than this (default 80; off: not checked).", "PERCENT|off");
        private readonly Option<string?> _maxBlocked = Numbers.Limit("--max-blocked-sessions",
            "Wait while more sessions than this are blocked by ours (default 0: any; off: not checked).", "N|off");
        private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Print the plan (every SQL statement per phase) and " +
            "change nothing." };

        public static RunOptions AddTo(Command command)
        {
            var options = new RunOptions();
            foreach (var option in new Option[]
                     {
                         options._batchSize, options._targetBatchMs, options._delayMs, options._parallel, options._maxDuration,
                         options._lockTimeoutMs, options._ddlLockTimeoutMs, options._throttleQuery, options._maxReplicaLag,
                         options._maxLogUsed, options._maxBlocked, options._dryRun,
                     })
                command.Add(option);
            return options;
        }

        public BackfillRequest Apply(ParseResult parse, BackfillRequest request)
        {
            // A limit given as "off" becomes null, which the engine reads as "not checked".
            var throttle = request.Throttle;
            if (parse.GetValue(_maxReplicaLag) is { } lag)
                throttle = throttle with { MaxReplicaLagSeconds = Numbers.LimitValue(_maxReplicaLag, lag) };
            if (parse.GetValue(_maxLogUsed) is { } log)
                throttle = throttle with { MaxLogUsedPercent = Numbers.LimitValue(_maxLogUsed, log) };
            if (parse.GetValue(_maxBlocked) is { } blocked)
                throttle = throttle with { MaxBlockedSessions = Numbers.LimitValue(_maxBlocked, blocked) };
            if (parse.GetValue(_throttleQuery) is { } query) throttle = throttle with { CustomQuery = query };
            return request with
            {
                BatchSize = parse.GetValue(_batchSize) ?? request.BatchSize,
                TargetBatchTime = Milliseconds(parse.GetValue(_targetBatchMs)) ?? request.TargetBatchTime,
                Delay = Milliseconds(parse.GetValue(_delayMs)) ?? request.Delay,
                Parallelism = parse.GetValue(_parallel) ?? request.Parallelism,
                MaxDuration = Numbers.Duration(parse.GetValue(_maxDuration), "--max-duration") ?? request.MaxDuration,
                BatchLockTimeout = Milliseconds(parse.GetValue(_lockTimeoutMs)) ?? request.BatchLockTimeout,
                DdlLockTimeout = Milliseconds(parse.GetValue(_ddlLockTimeoutMs)) ?? request.DdlLockTimeout,
                Throttle = throttle,
                DryRun = parse.GetValue(_dryRun),
            };
        }
    }

    /// <summary>Phase 2 options (SQL Server uses them; PostgreSQL builds CONCURRENTLY and ignores them).</summary>
    private sealed class IndexOptions
    {
        private readonly Option<bool> _offline = new("--offline-index-build") { Description = "Build offline where the edition cannot " +
            "build online (blocks writers for the build)." };
        private readonly Option<int?> _maxDop = Numbers.Int("--maxdop", "MAXDOP of the index builds (default 4).", "N");
        private readonly Option<string?> _compression = new("--data-compression") { Description = "NONE, ROW or PAGE (default PAGE).",
            HelpName = "NONE|ROW|PAGE" };
        private readonly Option<int?> _maxDuration =
            Numbers.Int("--index-max-duration", "MAX_DURATION of a resumable build, 1-10080 (default 240).", "MINUTES");
        private readonly Option<long?> _buildRate = Numbers.Long("--index-build-rate",
            "Rows per second an index build is assumed to read, to estimate builds that cannot be paused (default 50000).", "ROWS");

        public static IndexOptions AddTo(Command command)
        {
            var options = new IndexOptions();
            command.Add(options._offline);
            command.Add(options._maxDop);
            command.Add(options._compression);
            command.Add(options._maxDuration);
            command.Add(options._buildRate);
            return options;
        }

        public double? BuildRate(ParseResult parse) => parse.GetValue(_buildRate);

        public IndexBuildOptions Build(ParseResult parse)
        {
            var defaults = new IndexBuildOptions();
            var compression = parse.GetValue(_compression);
            if (compression != null && !IndexBuildOptions.Compressions.Contains(compression.Trim(), StringComparer.OrdinalIgnoreCase))
                throw new InvalidRequestException("--data-compression", compression,
                    $"is not one of {string.Join(", ", IndexBuildOptions.Compressions)}");
            return defaults with
            {
                AllowOffline = parse.GetValue(_offline),
                MaxDop = parse.GetValue(_maxDop) ?? defaults.MaxDop,
                DataCompression = compression?.Trim().ToUpperInvariant() ?? defaults.DataCompression,
                MaxDurationMinutes = parse.GetValue(_maxDuration) ?? defaults.MaxDurationMinutes,
            };
        }
    }

    private static BackfillPhase Phase(string? text) =>
        text is null ? BackfillPhase.All
        : Enum.TryParse<BackfillPhase>(text.Trim(), ignoreCase: true, out var phase) && Enum.IsDefined(phase) && !int.TryParse(text, out _)
            ? phase
        : throw new InvalidRequestException("--phase", text, "is not one of all, column, indexes, backfill");

    private static TimeSpan? Milliseconds(int? value) => value is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

}
