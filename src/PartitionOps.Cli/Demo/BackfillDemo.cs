using Spectre.Console;
using System.Diagnostics;
using PartitionOps.Cli.Output;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Demo;

namespace PartitionOps.Cli.Demo;

/// <summary>
/// Builds the FHIR-like Resource table (list-partitioned by ResourceTypeId, skewed types, ~10% system
/// rows), runs the whole backfill with live progress, validates and summarises.
/// </summary>
internal sealed class BackfillDemo : IDemoSection
{
    public string Name => "backfill";

    public async Task<DemoSectionResult> RunAsync(DemoContext context)
    {
        var output = context.Output;
        var ct = context.Cancellation;
        var sample = new FhirSampleOptions { Rows = context.Options.Rows, TypeCount = context.Options.Types };
        var systemRows = FhirSample.Distribution(sample).Where(t => BackfillProfile.FhirSystemTypes.Contains(t.Name)).Sum(t => t.Rows);

        output.Info($"backfill demo: creating public.\"Resource\" with {sample.Rows:N0} rows in {sample.TypeCount} types " +
            $"({systemRows:N0} rows of system types)");
        var clock = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        await FhirSample.CreateAsync(context.ConnectionString, sample, new InlineProgress(message =>
        {
            if (clock.Elapsed - last < ProgressRenderer.PlainInterval) return;
            last = clock.Elapsed;
            output.Info($"  sample: {message}");
        }), ct).ConfigureAwait(false);
        var created = clock.Elapsed;
        output.Info($"backfill demo: sample data ready in {Tables.Duration(created)}");

        var target = new DatabaseTarget(ProviderRegistry.Get("postgresql"), context.ConnectionString);
        var scope = new BackfillScope { Target = target };
        var service = new BackfillService();
        var request = new BackfillRequest { Scope = scope, Parallelism = 2 };
        output.Info("backfill demo: phase 1 (column), phase 2 (filtered indexes), phase 3 (batched backfill), 2 types at a time");
        var result = await ProgressRenderer.RunAsync(output, events => service.StartAsync(request, events, ct)).ConfigureAwait(false);
        if (!output.Json) Tables.Run(output.Human, result, "backfill");

        var integrity = await service.ValidateAsync(scope, ct).ConfigureAwait(false);
        if (!output.Json) Tables.Integrity(output.Human, integrity);

        var passed = result.Status == BackfillStatus.Done && integrity.Passed && result.RowsUpdated == systemRows;
        var summary = new
        {
            Rows = sample.Rows,
            Types = sample.TypeCount,
            SystemRows = systemRows,
            SampleCreation = created,
            result.Status,
            result.RowsUpdated,
            result.RowsScanned,
            result.Batches,
            RowsPerSecond = Math.Round(result.RowsPerSecond),
            result.Elapsed,
            result.IndexesBuilt,
            Validation = new { integrity.Passed, integrity.MisplacedSystemRows, integrity.MisplacedUserRows },
        };
        if (!output.Json)
            output.Human.WriteLine($"backfill demo: {(passed ? "OK" : "PROBLEM")}: {sample.Rows:N0} rows, " +
                $"{result.RowsUpdated:N0} of {systemRows:N0} system rows moved " +
                $"in {result.Batches:N0} batches, {result.RowsPerSecond:N0} rows/s walked, {Tables.Duration(result.Elapsed)} " +
                $"(sample built in {Tables.Duration(created)})");
        return new DemoSectionResult(passed, summary);
    }

    private sealed class InlineProgress(Action<string> handler) : IProgress<string>
    {
        public void Report(string value) => handler(value);
    }
}
