using System.Diagnostics;
using System.Globalization;
using PartitionOps.Engine.Backfill;
using Spectre.Console;
using Spectre.Console.Rendering;

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
        var details = new DetailColumn();
        await output.Log.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(),
                details, new SpinnerColumn())
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
                            tasks[type.TypeName] = task = context.AddTask(Markup.Escape(type.TypeName), autoStart: true);
                        var total = type.EstimatedRows is > 0 ? type.EstimatedRows.Value : (long?)null;
                        task.IsIndeterminate = total is null && type.Status != BackfillStatus.Done;
                        task.MaxValue = Math.Max(1, total ?? type.RowsScanned);
                        task.Value = type.Status == BackfillStatus.Done ? task.MaxValue : Math.Min(task.MaxValue, type.RowsScanned);
                        details.Set(task, Brief(type));
                        if (type.Status is BackfillStatus.Done or BackfillStatus.Failed or BackfillStatus.Paused) task.StopTask();
                    }
                });
                result = await work(progress).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result;
    }

    /// <summary>Short text next to a bar: "1,200/1,734 rows 8,532/s ETA 00:00:03" (or the status when it ended).</summary>
    private static string Brief(TypeProgress t)
    {
        var rows = t.EstimatedRows is { } total ? $"{t.RowsScanned:N0}/{total:N0} rows" : $"{t.RowsScanned:N0} rows";
        var tail = t.Status switch
        {
            BackfillStatus.Done => $"done, {t.RowsUpdated:N0} moved",
            BackfillStatus.Failed => "failed",
            BackfillStatus.Paused => "paused",
            _ when t.Waiting is { } waiting => $"waiting: {waiting}",
            _ => (t.RowsPerSecond is { } rate ? $"{rate:N0}/s" : "") + (t.Eta is { } eta ? $" ETA {JsonOutput.FormatDuration(eta)}" : ""),
        };
        return $"{rows} {tail}".TrimEnd();
    }

    /// <summary>A column showing a line of text per task (rows, rate, ETA).</summary>
    private sealed class DetailColumn : ProgressColumn
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _text = new();

        public void Set(ProgressTask task, string text) => _text[task.Id] = text;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(_text.TryGetValue(task.Id, out var text) ? text : "", new Style(Color.Grey));
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
