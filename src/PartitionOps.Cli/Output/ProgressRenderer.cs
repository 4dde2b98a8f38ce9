using System.Diagnostics;
using System.Globalization;
using PartitionOps.Engine.Backfill;
using Spectre.Console;

namespace PartitionOps.Cli.Output;

/// <summary>
/// Shows the engine's <see cref="BackfillEvent"/>s while a run works: a Spectre.Console progress bar per
/// resource type on an interactive terminal (not with --json), otherwise plain lines on stderr, at most
/// one every two seconds per type plus every phase event and every status change.
/// </summary>
internal static class ProgressRenderer
{
    public static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);

    public static Task<T> RunAsync<T>(CliOutput output, Func<IProgress<BackfillEvent>, Task<T>> work) =>
        output.UseProgressBars ? RunWithBarsAsync(output, work) : RunPlainAsync(output, work);

    private static async Task<T> RunPlainAsync<T>(CliOutput output, Func<IProgress<BackfillEvent>, Task<T>> work)
    {
        var gate = new object();
        var clock = Stopwatch.StartNew();
        var last = new Dictionary<string, (TimeSpan At, string Status)>(StringComparer.Ordinal);
        var progress = new SyncProgress<BackfillEvent>(e =>
        {
            lock (gate)
            {
                if (e.Type is not { } type)
                {
                    output.Info($"{Now()} {e.Phase}: {e.Message}");
                    return;
                }
                var now = clock.Elapsed;
                if (last.TryGetValue(type.TypeName, out var seen) && seen.Status == type.Status && now - seen.At < PlainInterval)
                    return;
                last[type.TypeName] = (now, type.Status);
                output.Info($"{Now()} {e.Phase}: {Describe(type)}");
            }
        });
        return await work(progress).ConfigureAwait(false);
    }

    private static async Task<T> RunWithBarsAsync<T>(CliOutput output, Func<IProgress<BackfillEvent>, Task<T>> work)
    {
        T result = default!;
        await output.Log.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var gate = new object();
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new SyncProgress<BackfillEvent>(e =>
                {
                    lock (gate)
                    {
                        if (e.Type is not { } type)
                        {
                            output.Log.MarkupLine($"[grey]{Now()}[/] {Markup.Escape(e.Phase)}: {Markup.Escape(e.Message)}");
                            return;
                        }
                        if (!tasks.TryGetValue(type.TypeName, out var task))
                            tasks[type.TypeName] = task = context.AddTask(type.TypeName, autoStart: true);
                        var total = type.EstimatedRows is > 0 ? type.EstimatedRows.Value : (long?)null;
                        task.IsIndeterminate = total is null && type.Status != BackfillStatus.Done;
                        task.MaxValue = Math.Max(1, total ?? type.RowsScanned);
                        task.Value = type.Status == BackfillStatus.Done ? task.MaxValue : Math.Min(task.MaxValue, type.RowsScanned);
                        task.Description = Markup.Escape(Describe(type));
                        if (type.Status is BackfillStatus.Done or BackfillStatus.Failed or BackfillStatus.Paused) task.StopTask();
                    }
                });
                result = await work(progress).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result;
    }

    /// <summary>"ValueSet running 12,000/40,000 rows (30.0%), 5,000 moved, 4,200 rows/s, ETA 00:00:07".</summary>
    public static string Describe(TypeProgress t)
    {
        var parts = new List<string>
        {
            t.EstimatedRows is { } total
                ? $"{t.RowsScanned:N0}/{total:N0} rows" + (t.PercentComplete is { } p ? $" ({p:0.0}%)" : "")
                : $"{t.RowsScanned:N0} rows",
            $"{t.RowsUpdated:N0} moved",
        };
        if (t.RowsPerSecond is { } rate) parts.Add($"{rate:N0} rows/s");
        if (t.Eta is { } eta && t.Status != BackfillStatus.Done) parts.Add($"ETA {JsonOutput.FormatDuration(eta)}");
        if (t.Waiting is { } waiting) parts.Add($"waiting: {waiting}");
        if (t.LastError is { } error && t.Status == BackfillStatus.Failed) parts.Add($"error: {error}");
        return $"{t.TypeName} {t.Status}: {string.Join(", ", parts)}";
    }

    private static string Now() => DateTime.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Calls the handler on the reporting thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class SyncProgress<TEvent>(Action<TEvent> handler) : IProgress<TEvent>
    {
        public void Report(TEvent value) => handler(value);
    }
}
