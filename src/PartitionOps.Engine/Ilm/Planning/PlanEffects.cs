using PartitionOps.Engine.Ilm.Model;

namespace PartitionOps.Engine.Ilm.Planning;

/// <summary>
/// The layout a plan leaves behind, computed without a database: used by the simulator and to check
/// that planning right after a run finds nothing to do.
/// </summary>
public static class PlanEffects
{
    public static PartitionLayout Apply(PartitionLayout layout, IEnumerable<IlmAction> actions)
    {
        var parts = layout.InBoundOrder().ToList();
        foreach (var action in actions) Apply(parts, action);
        for (var i = 0; i < parts.Count; i++) parts[i] = parts[i] with { Position = i + 1 };
        return layout with { Partitions = parts };
    }

    public static PartitionLayout Apply(PartitionLayout layout, IlmPlan plan) => Apply(layout, plan.Actions);

    private static void Apply(List<PartitionInfo> parts, IlmAction action)
    {
        switch (action)
        {
            case MoveAction move:
            {
                var i = IndexOf(parts, move.PartitionName);
                parts[i] = parts[i] with { Tablespace = move.ToTablespace, Compression = Compression(parts[i], move.Compression) };
                break;
            }
            case RenameAction rename:
            {
                var i = IndexOf(parts, rename.PartitionName);
                parts[i] = parts[i] with { Name = rename.NewName };
                break;
            }
            case MergeAction merge:
            {
                var indexes = merge.Sources.Select(s => IndexOf(parts, s)).ToList();
                var sources = indexes.Select(i => parts[i]).ToList();
                var rows = sources.All(s => s.RowEstimate is null) ? (long?)null : sources.Sum(s => s.RowEstimate ?? 0);
                var merged = sources[0] with
                {
                    Name = merge.TargetName,
                    UpperBound = merge.UpperBound,
                    Tablespace = merge.Tablespace,
                    Compression = Compression(sources[0], merge.Compression),
                    RowEstimate = rows,
                    IsInterval = false,
                };
                foreach (var i in indexes.Skip(1).OrderByDescending(i => i)) parts.RemoveAt(i);
                parts[indexes[0]] = merged;
                break;
            }
        }
    }

    // Engines without table compression keep reporting none.
    private static string? Compression(PartitionInfo p, string compression) => p.Compression is null ? null : compression;

    private static int IndexOf(List<PartitionInfo> parts, string name)
    {
        var i = parts.FindIndex(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        return i >= 0 ? i : throw new InvalidOperationException($"the plan names partition {name}, which the layout does not have");
    }
}
