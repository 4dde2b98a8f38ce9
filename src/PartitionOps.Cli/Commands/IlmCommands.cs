using Spectre.Console;
using System.CommandLine;
using System.Globalization;
using PartitionOps.Cli.Output;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Cli.Commands;

/// <summary>
/// `ilm plan | run | history | health | snapshot | simulate | summary | config` (DESIGN §5, Engine/Ilm/README.md):
/// options mapped onto the engine's requests, <see cref="IlmService"/> called, its result written.
/// --json documents use the CLI's camelCase writer (<see cref="JsonOutput"/>), like backfill; only the
/// layout file of `ilm snapshot` keeps the engine's snake_case format, so --layout reads it back.
/// </summary>
internal static class IlmCommands
{
    public static Command Create(CliHost host)
    {
        var ilm = new Command("ilm", "ILM partition merge: tier moves and monthly-into-yearly merges (spec/ilm-partition-merge.md).");
        ilm.Add(Plan(host));
        ilm.Add(Run(host));
        ilm.Add(History(host));
        ilm.Add(Health(host));
        ilm.Add(Snapshot(host));
        ilm.Add(Simulate(host));
        ilm.Add(Summary(host));
        ilm.Add(Config(host));
        return ilm;
    }

    // ------------------------------------------------------------------ plan, run

    private static Command Plan(CliHost host)
    {
        var command = new Command("plan",
            "Shows what a run would do at --as-of (moves, merges, renames, skips) with every SQL statement; changes nothing. " +
            "With --layout FILE it plans offline and --provider chooses whose SQL to show.");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: false);
        var policy = PolicyOption();
        var asOf = AsOfOption();
        var layout = LayoutOption();
        command.Add(table);
        command.Add(policy);
        command.Add(asOf);
        command.Add(layout);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var ilmPolicy = IlmPolicy.Load(parse.GetValue(policy));
            var date = AsOf(parse, asOf);
            IlmPlanRequest request;
            if (parse.GetValue(layout) is { } file)
            {
                var offline = LayoutJson.Load(file);
                var providerName = parse.GetValue(common.Provider);
                request = new IlmPlanRequest
                {
                    Layout = offline,
                    Provider = string.IsNullOrWhiteSpace(providerName) ? null : ProviderRegistry.Get(providerName),
                    Policy = ilmPolicy,
                    AsOf = date,
                };
            }
            else
            {
                request = new IlmPlanRequest
                {
                    Target = common.Target(parse),
                    Table = parse.GetValue(table),
                    Schema = parse.GetValue(common.Schema),
                    ControlSchema = parse.GetValue(common.ControlSchema),
                    Policy = ilmPolicy,
                    AsOf = date,
                };
            }
            var result = await new IlmService().PlanAsync(request, output.Cancellation).ConfigureAwait(false);
            output.Result(IlmDocuments.Plan(result), console => IlmTables.Plan(console, result));
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Run(CliHost host)
    {
        var command = new Command("run",
            "Plans and runs one table: moves partitions to their tier's tablespace and merges due months into their yearly partition, " +
            "writing the audit rows. Exit 1 when an action failed (the others still ran).");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: true);
        var policy = PolicyOption();
        var asOf = AsOfOption();
        var overrides = new ConfigOverrideOptions();
        var maxDuration = new Option<string?>("--max-duration")
        {
            Description = "No new action starts after this long (exit 0; the next run carries on).",
            HelpName = "hh:mm:ss",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show the plan with every SQL statement and change nothing." };
        var only = new Option<string[]>("--only-partition")
        {
            Description = "Run only the plan's action for this partition (repeatable): its move, its merge into its yearly " +
                "partition, or its rename. Nothing else runs; a partition with no action, or whose action needs one not chosen " +
                "(an earlier month of the same merge), is exit 2.",
            HelpName = "P",
            Arity = ArgumentArity.ZeroOrMore,
        };
        foreach (var option in new Option[] { table, policy, asOf }) command.Add(option);
        overrides.AddTo(command);
        foreach (var option in new Option[] { maxDuration, dryRun, only }) command.Add(option);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var request = new IlmRunRequest(common.Target(parse), parse.GetValue(table)!)
            {
                Schema = parse.GetValue(common.Schema),
                ControlSchema = parse.GetValue(common.ControlSchema),
                Policy = IlmPolicy.Load(parse.GetValue(policy)),
                AsOf = AsOf(parse, asOf),
                Overrides = overrides.Apply(parse),
                DryRun = parse.GetValue(dryRun),
                MaxDuration = Numbers.Duration(parse.GetValue(maxDuration), "--max-duration"),
                Only = OnlyPartitions(parse.GetValue(only)),
            };
            var progress = new LineProgress(output);
            var result = await new IlmService().RunAsync(request, progress, output.Cancellation).ConfigureAwait(false);
            output.Result(IlmDocuments.Run(result), console => IlmTables.Run(console, result));
            if (output.Json)
            {
                if (result.Failed > 0) output.Warn($"ilm run: {result.Failed} action(s) failed; fix the cause and run again (merges are " +
                    $"retried)");
                else if (result.StoppedEarly) output.Info($"ilm run: --max-duration reached, {result.NotStarted.Count} action(s) left " +
                    $"for the next run");
            }
            return result.Failed > 0 ? ExitCodes.Failed : ExitCodes.Done;
        });
        return command;
    }

    // ------------------------------------------------------------------ monitoring

    private static Command History(CliHost host)
    {
        var command = new Command("history",
            "Merge audit rows (dwh_ilm_partition_merges), newest first. Reads only (none before the first run).");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: false);
        var maxRows = Numbers.Int("--max-rows", "At most this many rows (default 100).", "N");
        command.Add(table);
        command.Add(maxRows);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var request = new IlmHistoryRequest(common.Target(parse))
            {
                Table = parse.GetValue(table),
                Schema = parse.GetValue(common.Schema),
                ControlSchema = parse.GetValue(common.ControlSchema),
            };
            if (parse.GetValue(maxRows) is { } n) request = request with { MaxRows = n };
            var rows = await new IlmService().HistoryAsync(request, output.Cancellation).ConfigureAwait(false);
            output.Result(new { request.Table, Merges = rows }, console => IlmTables.History(console, rows));
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Health(CliHost host)
    {
        var command = new Command("health",
            "The spec's alerts and success criteria over the merge audit (and WARM partition counts with --table). Exit 3 when an alert " +
            "fires or a criterion is missed.");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: false);
        var policy = PolicyOption();
        var thresholds = new HealthThresholdOptions();
        var verifyIndexes = new Option<bool>("--verify-indexes")
        {
            Description = "Also verify every B-tree index of the table's partitions (reads each index whole; PostgreSQL, " +
                          "needs amcheck and pageinspect) and name the statement that repairs each damaged one. Needs --table.",
        };
        command.Add(table);
        command.Add(policy);
        command.Add(verifyIndexes);
        thresholds.AddTo(command);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var t = thresholds.Apply(parse);
            var request = new IlmHealthRequest(common.Target(parse))
            {
                Table = parse.GetValue(table),
                Schema = parse.GetValue(common.Schema),
                ControlSchema = parse.GetValue(common.ControlSchema),
                Policy = IlmPolicy.Load(parse.GetValue(policy)),
                Thresholds = t,
                VerifyIndexes = parse.GetValue(verifyIndexes),
            };
            var report = await new IlmService().HealthAsync(request, output.Cancellation).ConfigureAwait(false);
            output.Result(report, console => IlmTables.Health(console, report));
            if (output.Json && !report.Passed)
                output.Warn($"ilm health: {report.Alerts.Count()} alert(s) fired, " +
                    $"{report.MissedCriteria.Count()} criterion/criteria missed");
            return ExitCodes.ForCheck(report.Passed);
        });
        return command;
    }

    private static Command Summary(CliHost host)
    {
        var command = new Command("summary", "Partitions per tier (yearly and monthly), by the tablespace each partition is in.");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: true);
        var policy = PolicyOption();
        command.Add(table);
        command.Add(policy);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var ilmPolicy = IlmPolicy.Load(parse.GetValue(policy));
            var summary = await new IlmService().SummaryAsync(TableRequest(parse, common, table), ilmPolicy,
                output.Cancellation).ConfigureAwait(false);
            output.Result(summary, console => IlmTables.Summary(console, summary));
            return ExitCodes.Done;
        });
        return command;
    }

    // ------------------------------------------------------------------ offline: snapshot, simulate

    private static Command Snapshot(CliHost host)
    {
        var command = new Command("snapshot",
            "Writes the table's partition layout as JSON (the file --layout reads) to stdout or --output FILE.");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: true);
        var file = new Option<string?>("--output") { Description = "Write the layout to this file (stdout: a short --json document or a " +
            "line).", HelpName = "FILE" };
        command.Add(table);
        command.Add(file);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var path = parse.GetValue(file);
            if (path != null) CheckOutputFile(path);
            var layout = await new IlmService().SnapshotAsync(TableRequest(parse, common, table),
                output.Cancellation).ConfigureAwait(false);
            if (path is null)
            {
                // The layout file itself is the document (snake_case, readable by --layout).
                output.Stdout.WriteLine(LayoutJson.Serialize(layout));
                output.Stdout.Flush();
                if (!output.Json) output.Info($"{layout.Schema}.{layout.Table}: {layout.Partitions.Count} partitions");
                return ExitCodes.Done;
            }
            LayoutJson.Save(layout, path);
            output.Result(new { Output = Path.GetFullPath(path), layout.Schema, layout.Table, Partitions = layout.Partitions.Count },
                console => console.WriteLine($"{layout.Schema}.{layout.Table}: {layout.Partitions.Count} partitions written to {path}"));
            return ExitCodes.Done;
        });
        return command;
    }

    private static Command Simulate(CliHost host)
    {
        var command = new Command("simulate",
            "Steps month by month from --from to --to, adding a HOT month as time passes, and compares merge strategies: " +
            "partitions per tier (yearly, monthly) and rows rewritten. Offline with --layout FILE, else from the live table.");
        var common = CommonOptions.AddTo(command);
        var table = TableOption(required: false);
        var policy = PolicyOption();
        var layout = LayoutOption();
        var from = new Option<string?>("--from") { Description = "First as-of date (required).", HelpName = "YYYY-MM-DD" };
        var to = new Option<string?>("--to") { Description = "Last as-of date (required).", HelpName = "YYYY-MM-DD" };
        var strategy = new Option<string[]>("--strategy")
        {
            Description = "incremental or year_complete (repeatable; default both).",
            HelpName = "incremental|year_complete",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var rowsPerMonth = Numbers.Long("--rows-per-month",
            "Rows of each new month (default: the median of the layout's monthly partitions).", "N");
        foreach (var option in new Option[] { table, policy, layout, from, to, strategy, rowsPerMonth }) command.Add(option);
        command.SetRun(host, common.Json, async (parse, output) =>
        {
            var ilmPolicy = IlmPolicy.Load(parse.GetValue(policy));
            var first = IlmInput.ParseAsOf(parse.GetValue(from), "--from");
            var last = IlmInput.ParseAsOf(parse.GetValue(to), "--to");
            var strategies = Strategies(parse.GetValue(strategy));
            var rows = parse.GetValue(rowsPerMonth);
            var providerName = parse.GetValue(common.Provider);
            IDatabaseProvider provider;
            PartitionLayout source;
            var service = new IlmService();
            string costsFrom;
            if (parse.GetValue(layout) is { } file)
            {
                source = LayoutJson.Load(file);
                // Merge costs differ by engine: --provider, else the provider the snapshot recorded; neither is exit 2.
                (provider, costsFrom) = IlmInput.CostsProvider(providerName, source, file);
                costsFrom = costsFrom == nameof(IlmPlanRequest.Layout) ? "the layout file" : OptionNames.ByKey[costsFrom];
            }
            else
            {
                var target = common.Target(parse);
                provider = target.Provider;
                costsFrom = "the connection";
                source = await service.SnapshotAsync(TableRequest(parse, common, table), output.Cancellation).ConfigureAwait(false);
            }
            var result = service.Simulate(new IlmSimulateRequest(source, first, last)
            {
                Policy = ilmPolicy,
                Strategies = strategies,
                Provider = provider,
                RowsPerNewMonth = rows,
            });
            var providerShown = provider.Name;
            output.Result(IlmDocuments.Simulation(source, result, providerShown) with { CostsFrom = costsFrom },
                console => IlmTables.Simulation(console, source, result, $"{providerShown}, from {costsFrom}"));
            return ExitCodes.Done;
        });
        return command;
    }

    // ------------------------------------------------------------------ config

    private static Command Config(CliHost host)
    {
        var config = new Command("config",
            "Shows dwh_ilm_config (same as `config get`; reads only: the spec's defaults, marked, when the table does not exist yet); " +
            "`config set KEY VALUE` changes one setting.");
        var common = CommonOptions.AddTo(config);
        config.SetRun(host, common.Json, (parse, output) => ShowConfigAsync(parse, common, output));

        var get = new Command("get",
            "Shows the ILM settings (AUTO_MERGE_PARTITIONS, MERGE_LOCK_TIMEOUT, MERGE_RETRY_FAILED, MAX_MERGES_PER_RUN) and their " +
            "effective values.");
        var getCommon = CommonOptions.AddTo(get);
        get.SetRun(host, getCommon.Json, (parse, output) => ShowConfigAsync(parse, getCommon, output));
        config.Add(get);

        var set = new Command("set", "Sets one ILM setting; the value is checked first (exit 2 when it is not valid).");
        var setCommon = CommonOptions.AddTo(set);
        var key = new Argument<string>("KEY") { Description = "AUTO_MERGE_PARTITIONS, MERGE_LOCK_TIMEOUT, MERGE_RETRY_FAILED or " +
            "MAX_MERGES_PER_RUN." };
        var value = new Argument<string>("VALUE") { Description = "Y/N for the switches, a whole number for the others." };
        var description = new Option<string?>("--description") { Description = "Description stored with the setting." };
        set.Add(key);
        set.Add(value);
        set.Add(description);
        set.SetRun(host, setCommon.Json, async (parse, output) =>
        {
            var target = setCommon.Target(parse);
            var service = new IlmService();
            await service.SetConfigAsync(new IlmSetConfigRequest(target, parse.GetValue(key)!, parse.GetValue(value)!)
            {
                ControlSchema = parse.GetValue(setCommon.ControlSchema),
                Description = parse.GetValue(description),
            }, output.Cancellation).ConfigureAwait(false);
            var request = new IlmConfigRequest(target) { ControlSchema = parse.GetValue(setCommon.ControlSchema) };
            var snapshot = await service.GetConfigAsync(request, output.Cancellation).ConfigureAwait(false);
            output.Result(
                new { Set = parse.GetValue(key)!.Trim().ToUpperInvariant(), Entries = snapshot.Entries, Effective = snapshot.Config },
                console => IlmTables.Config(console, snapshot));
            return ExitCodes.Done;
        });
        config.Add(set);
        return config;
    }

    private static async Task<int> ShowConfigAsync(ParseResult parse, CommonOptions common, CliOutput output)
    {
        var request = new IlmConfigRequest(common.Target(parse)) { ControlSchema = parse.GetValue(common.ControlSchema) };
        var snapshot = await new IlmService().GetConfigAsync(request, output.Cancellation).ConfigureAwait(false);
        output.Result(new { snapshot.TableExists, snapshot.Entries, Effective = snapshot.Config },
            console => IlmTables.Config(console, snapshot));
        return ExitCodes.Done;
    }

    // ------------------------------------------------------------------ option groups (mapped without a database in tests)

    /// <summary>`ilm run` options that win over dwh_ilm_config for this run.</summary>
    internal sealed class ConfigOverrideOptions
    {
        private readonly Option<int?> _maxMerges = Numbers.Int("--max-merges",
            "At most this many partitions merged in this run (wins over MAX_MERGES_PER_RUN).", "N");
        private readonly Option<int?> _lockTimeout = Numbers.Int("--lock-timeout",
            "Lock timeout of the DDL in seconds (wins over MERGE_LOCK_TIMEOUT).", "SECONDS");
        private readonly Option<string?> _autoMerge = new("--auto-merge")
        {
            Description = "Y: merge due months into their yearly partition; N: moves and renames only (wins over AUTO_MERGE_PARTITIONS).",
            HelpName = "Y|N",
        };
        private readonly Option<string?> _retryFailed = new("--retry-failed")
        {
            Description = "Y: merge again months whose last merge FAILED; N: skip them (wins over MERGE_RETRY_FAILED).",
            HelpName = "Y|N",
        };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _maxMerges, _lockTimeout, _autoMerge, _retryFailed }) command.Add(option);
        }

        /// <summary>The overrides, checked: a bad value is <see cref="InvalidRequestException"/> naming the option.</summary>
        public IlmConfigOverrides Apply(ParseResult parse)
        {
            var overrides = new IlmConfigOverrides
            {
                MaxMerges = parse.GetValue(_maxMerges),
                LockTimeoutSeconds = parse.GetValue(_lockTimeout),
                AutoMergePartitions = IlmInput.ParseYesNo(parse.GetValue(_autoMerge), "--auto-merge"),
                RetryFailed = IlmInput.ParseYesNo(parse.GetValue(_retryFailed), "--retry-failed"),
            };
            try { overrides.Validate(); }
            catch (InvalidRequestException e) { throw OptionNames.Translate(e); }
            return overrides;
        }
    }

    /// <summary>`ilm health` thresholds: the spec's alerts and its success criteria; what is not given keeps the spec's value.</summary>
    internal sealed class HealthThresholdOptions
    {
        private readonly Option<int?> _window = Numbers.Int("--window-days", "Days of merge history to judge (default 7).", "N");
        // Alerts.
        private readonly Option<double?> _failureRate = Numbers.Double("--max-failure-rate",
            "Alert when more than this % of merges failed (default 10).", "PERCENT");
        private readonly Option<double?> _mergeSeconds = Numbers.Double("--max-merge-seconds",
            "Alert when a merge took longer (default 300).", "SECONDS");
        private readonly Option<int?> _warmMonthly = Numbers.Int("--max-warm-monthly",
            "Alert when WARM holds more monthly partitions (default 100).", "N");
        private readonly Option<int?> _notRetried = Numbers.Int("--failed-not-retried-days",
            "Alert when a failed merge was not retried for this long (default 7).", "DAYS");
        // Success criteria.
        private readonly Option<double?> _warmMonthlyPercent = Numbers.Double("--max-warm-monthly-percent",
            "Criterion: monthly partitions below this % of WARM's partitions (default 20; needs --table).", "PERCENT");
        private readonly Option<double?> _successRate = Numbers.Double("--min-success-rate",
            "Criterion: merge success rate above this % (default 95).", "PERCENT");
        private readonly Option<double?> _averageSeconds = Numbers.Double("--max-average-merge-seconds",
            "Criterion: average successful merge below this (default 30).", "SECONDS");

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _window, _failureRate, _mergeSeconds, _warmMonthly, _notRetried, _warmMonthlyPercent,
                _successRate, _averageSeconds })
                command.Add(option);
        }

        /// <summary>
        /// The thresholds, checked by the engine; a bad value is <see cref="InvalidRequestException"/> naming the option.
        /// </summary>
        public IlmHealthThresholds Apply(ParseResult parse)
        {
            try
            {
                return IlmHealthThresholds.Create(
                    windowDays: parse.GetValue(_window),
                    maxFailureRatePercent: (decimal?)parse.GetValue(_failureRate),
                    maxMergeSeconds: (decimal?)parse.GetValue(_mergeSeconds),
                    maxWarmMonthlyPartitions: parse.GetValue(_warmMonthly),
                    failedNotRetriedDays: parse.GetValue(_notRetried),
                    maxWarmMonthlyPercent: (decimal?)parse.GetValue(_warmMonthlyPercent),
                    minSuccessRatePercent: (decimal?)parse.GetValue(_successRate),
                    maxAverageMergeSeconds: (decimal?)parse.GetValue(_averageSeconds));
            }
            catch (InvalidRequestException e) { throw OptionNames.Translate(e); }
        }
    }

    // ------------------------------------------------------------------ shared

    private static Option<string?> TableOption(bool required) => new("--table")
    {
        Description = required ? "The range-partitioned table (required)." : "The range-partitioned table.",
        HelpName = "T",
    };

    private static Option<string?> PolicyOption() => new("--policy")
    {
        Description = "tier_config JSON file (default: the spec's 24/60 months, TBS_HOT/TBS_WARM/TBS_COLD, NONE/BASIC/BASIC).",
        HelpName = "FILE",
    };

    private static Option<string?> AsOfOption() => new("--as-of")
    {
        Description = "The run date the tiers are computed from (default: today, UTC).",
        HelpName = "YYYY-MM-DD",
    };

    private static Option<string?> LayoutOption() => new("--layout")
    {
        Description = "A layout file from `ilm snapshot`: work offline, without a connection.",
        HelpName = "FILE",
    };

    private static DateOnly? AsOf(ParseResult parse, Option<string?> option) =>
        parse.GetResult(option) is null ? null : IlmInput.ParseAsOf(parse.GetValue(option));

    private static IlmTableRequest TableRequest(ParseResult parse, CommonOptions common, Option<string?> table) =>
        new(common.Target(parse), parse.GetValue(table)!)
        {
            Schema = parse.GetValue(common.Schema),
            ControlSchema = parse.GetValue(common.ControlSchema),
        };

    private static IReadOnlyList<MergeStrategy>? Strategies(string[]? names)
    {
        if (names is null || names.Length == 0) return null;
        return names.Select(n => n.Trim().ToLowerInvariant().Replace("-", "_") switch
        {
            "incremental" => MergeStrategy.Incremental,
            "year_complete" => MergeStrategy.YearComplete,
            _ => throw new InvalidRequestException("--strategy", n, "is not a strategy: use incremental or year_complete"),
        }).Distinct().ToList();
    }

    /// <summary>--output FILE: a file name (not empty, not a folder) in a folder that exists; checked before connecting.</summary>
    private static void CheckOutputFile(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Any(char.IsControl))
            throw new InvalidRequestException("--output", path, "is not a file name: give the path of the layout file to write");
        if (Directory.Exists(path) || path.EndsWith(Path.DirectorySeparatorChar) || path.EndsWith(Path.AltDirectorySeparatorChar))
            throw new InvalidRequestException("--output", path, "is a folder: give the path of the layout file to write");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InvalidRequestException("--output", path, "is not a valid path");
        }
        var folder = Path.GetDirectoryName(full);
        if (folder != null && !Directory.Exists(folder))
            throw new InvalidRequestException("--output", path, "is in a folder that does not exist");
    }

    /// <summary>--only-partition P (repeatable): the plan's actions for those partitions; null when not given.</summary>
    private static IReadOnlyList<IlmActionKey>? OnlyPartitions(string[]? names)
    {
        if (names is null || names.Length == 0) return null;
        return names.Select(n => IlmActionKey.Partition(Identifier.Validate(n?.Trim(), "--only-partition"))).ToList();
    }


    /// <summary>One stderr line as each action starts and ends (runs are a handful of DDL statements, no bars needed).</summary>
    private sealed class LineProgress(CliOutput output) : IProgress<IlmProgress>
    {
        public void Report(IlmProgress p)
        {
            if (p.Outcome is { } o)
                output.Info($"ilm: [{p.Index}/{p.Count}] {o.Status} in {Tables.Duration(o.Duration)}" + (o.Error is { } e ? $": {e}" : ""));
            else
                output.Info($"ilm: [{p.Index}/{p.Count}] {p.Action.Describe()}");
        }
    }
}
