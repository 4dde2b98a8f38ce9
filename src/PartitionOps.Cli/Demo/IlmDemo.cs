using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PartitionOps.Cli.Output;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using Spectre.Console;

namespace PartitionOps.Cli.Demo;

/// <summary>
/// A tiered <c>public.sales</c> table of six years (2019-2024, one row an hour) in three real tablespaces
/// (tbs_hot, tbs_warm, tbs_cold: created unquoted, so PostgreSQL stores them in lower case; the demo runs
/// the default policy, whose TBS_HOT/TBS_WARM/TBS_COLD the engine resolves to them), laid out as the tiered
/// template creates it on 2025-01-01: 2019 yearly in COLD,
/// 2020-2022 yearly in WARM, 24 monthly partitions in HOT. Then ILM runs at several as-of dates (new
/// months arrive in HOT in between) and the demo shows what moved, merged and was renamed.
/// </summary>
internal sealed class IlmDemo : IDemoSection
{
    private static readonly DateOnly[] Steps =
    [
        new(2025, 2, 1),  // p_2023_01 reaches WARM: moved and renamed to start the yearly p_2023
        new(2025, 6, 1),  // February to May merge into p_2023
        new(2025, 10, 1), // June to September
        new(2026, 1, 1),  // October to December complete p_2023; p_2020 reaches COLD
        new(2026, 3, 1),  // p_2024_01 starts p_2024, February merges into it
    ];

    private static readonly DateTime DataStart = new(2019, 1, 1);
    private static readonly DateTime Created = new(2025, 1, 1);

    public string Name => "ilm";

    public async Task<DemoSectionResult> RunAsync(DemoContext context)
    {
        var output = context.Output;
        var ct = context.Cancellation;
        var clock = Stopwatch.StartNew();
        // The spec's default policy: its TBS_* names resolve to the lower-case tablespaces created below.
        var policy = IlmPolicy.Default;

        output.Info("ilm demo: creating tablespaces tbs_hot, tbs_warm, tbs_cold in folders of the throwaway server");
        await using (var connection = new NpgsqlConnection(context.ConnectionString))
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            foreach (var tablespace in new[] { "tbs_hot", "tbs_warm", "tbs_cold" })
            {
                var folder = await context.Server.CreateServerOwnedDirectoryAsync(tablespace, ct).ConfigureAwait(false);
                await ExecAsync(connection, $"CREATE TABLESPACE {tablespace} LOCATION '{folder}'", ct).ConfigureAwait(false);
            }
            await ExecAsync(connection, """
                CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL, sold_at timestamp NOT NULL,
                    amount numeric(12,2) NOT NULL)
                PARTITION BY RANGE (sale_date)
                """, ct).ConfigureAwait(false);
            await ExecAsync(connection, "CREATE INDEX sales_sale_date ON public.sales (sale_date)", ct).ConfigureAwait(false);
            await AddPartitionAsync(connection, "p_2019", new DateTime(2019, 1, 1), new DateTime(2020, 1, 1), "tbs_cold", ct)
                .ConfigureAwait(false);
            for (var year = 2020; year <= 2022; year++)
                await AddPartitionAsync(connection, $"p_{year}", new DateTime(year, 1, 1), new DateTime(year + 1, 1, 1), "tbs_warm", ct)
                    .ConfigureAwait(false);
            for (var month = new DateTime(2023, 1, 1); month < Created; month = month.AddMonths(1))
                await AddPartitionAsync(connection, PartitionName.MonthlyName("p", month.Year, month.Month), month, month.AddMonths(1),
                    "tbs_hot", ct).ConfigureAwait(false);
            await FillAsync(connection, DataStart, Created, ct).ConfigureAwait(false);
            await ExecAsync(connection, "ANALYZE public.sales", ct).ConfigureAwait(false);
        }

        var target = new DatabaseTarget(ProviderRegistry.Get("postgresql"), context.ConnectionString);
        var service = new IlmService();
        var table = new IlmTableRequest(target, "sales");
        var initial = await service.SummaryAsync(table, policy, ct).ConfigureAwait(false);
        var rowsLoaded = await CountAsync(context.ConnectionString, ct).ConfigureAwait(false);
        output.Info($"ilm demo: public.sales ready: {rowsLoaded:N0} rows, {initial.Tiers.Sum(t => t.Total)} partitions " +
                    $"({Counts(initial)}) in {Tables.Duration(clock.Elapsed)}");
        if (!output.Json)
        {
            output.Human.WriteLine("ilm demo: public.sales as created on 2025-01-01 (six years, one row an hour):");
            output.Human.Write(IlmTables.SummaryTable(initial));
        }

        var steps = new List<object>();
        var rows = new List<(DateOnly AsOf, IlmRunResult Result, IlmSummary After)>();
        var nextPartition = Created;
        var filledUpTo = Created;
        var failed = 0;
        foreach (var asOf in Steps)
        {
            // Time passes: the loader adds this month's partition in HOT and fills it up to the as-of date.
            var now = asOf.ToDateTime(TimeOnly.MinValue);
            await using (var connection = new NpgsqlConnection(context.ConnectionString))
            {
                await connection.OpenAsync(ct).ConfigureAwait(false);
                for (; nextPartition <= now; nextPartition = nextPartition.AddMonths(1))
                    await AddPartitionAsync(connection, PartitionName.MonthlyName("p", nextPartition.Year, nextPartition.Month),
                        nextPartition, nextPartition.AddMonths(1), "tbs_hot", ct).ConfigureAwait(false);
                await FillAsync(connection, filledUpTo, now, ct).ConfigureAwait(false);
                filledUpTo = now;
                await ExecAsync(connection, "ANALYZE public.sales", ct).ConfigureAwait(false);
            }

            var result = await service.RunAsync(new IlmRunRequest(target, "sales") { Policy = policy, AsOf = asOf }, null, ct)
                .ConfigureAwait(false);
            failed += result.Failed;
            var after = await service.SummaryAsync(table, policy, ct).ConfigureAwait(false);
            rows.Add((asOf, result, after));
            output.Info($"ilm demo: as of {asOf:yyyy-MM-dd}: {result.Succeeded} action(s) done, {result.Failed} failed, " +
                        $"{IlmDocuments.RowsWrittenText(result)}; now {Counts(after)}");
            foreach (var o in result.Outcomes)
                output.Info($"  {o.Status,-7} {o.Action.Describe()}" + (o.Error is { } e ? $": {e}" : ""));
            steps.Add(new
            {
                AsOf = asOf,
                Moved = Of<MoveAction>(result).Select(m => $"{m.PartitionName} -> {m.ToTablespace}").ToList(),
                Merged = Of<MergeAction>(result).Select(m => $"{string.Join("+", m.Sources)} -> {m.TargetName}").ToList(),
                Renamed = Of<RenameAction>(result).Select(r => $"{r.PartitionName} -> {r.NewName}").ToList(),
                result.Succeeded,
                result.Failed,
                RowsRewritten = IlmDocuments.RowsRewritten(result),
                Partitions = Tiers(after),
            });
        }

        // Checks: no action failed, no row lost, nothing left to do, every partition in its tier's tablespace.
        var last = Steps[^1];
        var final = rows[^1].After;
        var rowsAtEnd = await CountAsync(context.ConnectionString, ct).ConfigureAwait(false);
        var expectedRows = (long)(last.ToDateTime(TimeOnly.MinValue) - DataStart).TotalHours;
        var replan = await service.PlanAsync(new IlmPlanRequest { Target = target, Table = "sales", Policy = policy, AsOf = last }, ct)
            .ConfigureAwait(false);
        var layout = await service.SnapshotAsync(table, ct).ConfigureAwait(false);
        var misplaced = layout.Partitions
            .Where(p => !string.Equals(
                p.Tablespace, policy.For(policy.TierOf(p.UpperBound, last)).Tablespace, StringComparison.OrdinalIgnoreCase))
            .Select(p => p.Name).ToList();
        var warm = final.For(IlmTier.Warm);
        var passed = failed == 0 && rowsAtEnd == expectedRows && !replan.Plan.HasWork && misplaced.Count == 0 && warm is { Monthly: 0 };
        var rewritten = rows.Sum(r => IlmDocuments.RowsRewritten(r.Result));
        var merged = rows.Sum(r => r.Result.Outcomes.Where(o => o.Status == IlmStatus.Success).Select(o => o.Action).OfType<MergeAction>()
            .Sum(m => m.MergedSources.Count));

        if (!output.Json)
        {
            var stepTable = new Table().Border(TableBorder.Simple).Title("ilm runs");
            foreach (var c in new[] { "As of", "Moved", "Merged", "Renamed", "Failed", "Rows rewritten", "HOT", "WARM", "COLD" })
                stepTable.AddColumn(new TableColumn(c));
            foreach (var (asOf, result, after) in rows)
                stepTable.AddRow(
                    asOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(", ", Of<MoveAction>(result).Select(m => $"{m.PartitionName}->{m.ToTablespace}"))),
                    Markup.Escape(string.Join(", ",
                        Of<MergeAction>(result).Select(m => $"{m.MergedSources.Count} month(s) into {m.TargetName}"))),
                    Markup.Escape(string.Join(", ", Of<RenameAction>(result).Select(r => $"{r.PartitionName}->{r.NewName}"))),
                    result.Failed.ToString(CultureInfo.InvariantCulture),
                    IlmDocuments.RowsRewritten(result).ToString("N0", CultureInfo.InvariantCulture),
                    Markup.Escape(TierText(after.For(IlmTier.Hot))), Markup.Escape(TierText(after.For(IlmTier.Warm))),
                    Markup.Escape(TierText(after.For(IlmTier.Cold))));
            output.Human.Write(stepTable);
            output.Human.WriteLine($"ilm demo: public.sales as of {last:yyyy-MM-dd}:");
            output.Human.Write(IlmTables.SummaryTable(final));
            output.Human.WriteLine($"ilm demo: {(passed ? "OK" : "PROBLEM")}: {Steps.Length} runs, " +
                                   $"{merged} monthly partitions merged into yearly ones, " +
                                   $"~{rewritten:N0} rows rewritten, {rowsAtEnd:N0} of {expectedRows:N0} rows kept, " +
                                   $"{(replan.Plan.HasWork ? "work left" : "nothing left to do")}, " +
                                   $"{(misplaced.Count == 0
                                       ? "every partition in its tier"
                                       : "misplaced: " + string.Join(", ", misplaced))} " +
                                   $"({Tables.Duration(clock.Elapsed)})");
        }

        var summary = new
        {
            Table = "public.sales",
            Tablespaces = new[] { "tbs_hot", "tbs_warm", "tbs_cold" },
            RowsLoaded = rowsLoaded,
            Rows = rowsAtEnd,
            ExpectedRows = expectedRows,
            Initial = Tiers(initial),
            Steps = steps,
            Final = Tiers(final),
            FinalTiers = final.Tiers,
            PartitionsMerged = merged,
            RowsRewritten = rewritten,
            FailedActions = failed,
            WorkLeft = replan.Plan.HasWork,
            Misplaced = misplaced,
            Elapsed = clock.Elapsed,
        };
        return new DemoSectionResult(passed, summary);
    }

    private static IEnumerable<T> Of<T>(IlmRunResult result) where T : IlmAction =>
        result.Outcomes.Where(o => o.Status == IlmStatus.Success).Select(o => o.Action).OfType<T>();

    private static object Tiers(IlmSummary s) =>
        s.Tiers.ToDictionary(t => t.Tier.ToLowerInvariant(), t => new { t.Yearly, t.Monthly, t.Total });

    private static string TierText(TierSummary? t) => t is null ? "-" : $"{t.Yearly}y+{t.Monthly}m";

    private static string Counts(IlmSummary s) =>
        string.Join(", ", s.Tiers.Select(t => $"{t.Tier} {t.Yearly} yearly + {t.Monthly} monthly"));

    private static Task AddPartitionAsync(
        NpgsqlConnection connection, string name, DateTime from, DateTime to, string tablespace, CancellationToken ct) =>
        ExecAsync(connection,
            $"CREATE TABLE public.{name} PARTITION OF public.sales " +
            $"FOR VALUES FROM ('{Date(from)}') TO ('{Date(to)}') TABLESPACE {tablespace}", ct);

    /// <summary>One sale an hour in [from, to).</summary>
    private static Task FillAsync(NpgsqlConnection connection, DateTime from, DateTime to, CancellationToken ct) =>
        from >= to ? Task.CompletedTask : ExecAsync(connection, $"""
            INSERT INTO public.sales (id, sale_date, sold_at, amount)
            SELECT (extract(epoch FROM t) / 3600)::bigint, t::date, t, round((10 + random() * 90)::numeric, 2)
            FROM generate_series(timestamp '{Date(from)}', timestamp '{Date(to)}' - interval '1 hour', interval '1 hour') t
            """, ct);

    private static async Task<long> CountAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM public.sales", connection);
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private static async Task ExecAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static string Date(DateTime d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
