using System.Globalization;
using PartitionOps.Engine.Backfill;

namespace PartitionOps.PowerShell.Backfill;

/// <summary>One Write-Progress record, host-free (the cmdlet turns it into a ProgressRecord).</summary>
public sealed record ProgressUpdate(
    int ActivityId, string Activity, string Status, int PercentComplete, int SecondsRemaining, bool Completed);

/// <summary>
/// Text of the backfill's progress: the bar of the format views and the status line of Write-Progress.
/// Static and engine-free in its signatures so that PartitionOps.Format.ps1xml can call
/// [PartitionOps.PowerShell.Backfill.BackfillProgressText]::Bar($_.PercentComplete).
/// </summary>
public static class BackfillProgressText
{
    public const int DefaultBarWidth = 10;

    /// <summary>"[#####-----] 52.3%"; empty when the percentage is unknown.</summary>
    public static string Bar(double? percent) => Bar(percent, DefaultBarWidth);

    public static string Bar(double? percent, int width)
    {
        if (percent is not { } p || double.IsNaN(p)) return "";
        p = Math.Clamp(p, 0, 100);
        width = Math.Max(1, width);
        var filled = (int)Math.Floor(p / 100 * width);
        return "[" + new string('#', filled) + new string('-', width - filled) + "] "
               + p.ToString("0.0", CultureInfo.InvariantCulture) + "%";
    }

    /// <summary>"01:02:03", "2d 01:02:03", or "unknown".</summary>
    public static string Duration(TimeSpan? duration)
    {
        if (duration is not { } d || d < TimeSpan.Zero) return "unknown";
        var clock = d.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
        return d.Days > 0 ? $"{d.Days.ToString(CultureInfo.InvariantCulture)}d {clock}" : clock;
    }

    /// <summary>Write-Progress status: "running: 12,000 of ~40,000 rows walked, 1,200 moved, 3,400 rows/s, ETA 00:00:08".</summary>
    public static string Status(TypeProgress type)
    {
        var c = CultureInfo.InvariantCulture;
        var of = type.EstimatedRows is { } estimate ? " of ~" + estimate.ToString("N0", c) : "";
        var rate = type.RowsPerSecond is { } r ? r.ToString("N0", c) : "-";
        var text = $"{type.Status}: {type.RowsScanned.ToString("N0", c)}{of} rows walked, {type.RowsUpdated.ToString("N0", c)} moved, " +
                   $"{rate} rows/s, ETA {Duration(type.Eta)}";
        if (!string.IsNullOrEmpty(type.Waiting)) text += $", waiting: {type.Waiting}";
        return text;
    }
}

/// <summary>
/// One Write-Progress activity per resource type: stable ids in order of first appearance, so each
/// type keeps its own bar while types run in parallel; <see cref="Complete"/> closes them all.
/// </summary>
public sealed class BackfillProgressTracker
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly int _firstId;

    public BackfillProgressTracker(int firstActivityId = 1) => _firstId = firstActivityId;

    public IReadOnlyCollection<string> Types => _ids.Keys;

    public ProgressUpdate Update(TypeProgress type)
    {
        if (!_ids.TryGetValue(type.TypeName, out var id)) _ids[type.TypeName] = id = _firstId + _ids.Count;
        var percent = type.PercentComplete is { } p && !double.IsNaN(p) ? (int)Math.Clamp(Math.Floor(p), 0, 100) : -1;
        var seconds = type.Eta is { } eta && eta >= TimeSpan.Zero ? (int)Math.Min(int.MaxValue, Math.Ceiling(eta.TotalSeconds)) : -1;
        return new ProgressUpdate(id, type.TypeName, BackfillProgressText.Status(type), percent, seconds, Completed: false);
    }

    /// <summary>Completed records for every type shown, so no bar outlives the cmdlet.</summary>
    public IReadOnlyList<ProgressUpdate> Complete() =>
        _ids.Select(kv => new ProgressUpdate(kv.Value, kv.Key, "done", 100, 0, Completed: true)).ToList();
}
