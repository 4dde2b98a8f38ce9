using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Ilm.Monitoring;

/// <summary>Partitions of one tier (or of a tablespace outside the policy, Tier "OTHER").</summary>
public sealed record TierSummary(string Tier, string? Tablespace, int Yearly, int Monthly, int Other, long Rows)
{
    public int Total => Yearly + Monthly + Other;
}

/// <summary>The spec's "partition count by tier" for one table: yearly vs monthly per tier.</summary>
public sealed record IlmSummary(string Schema, string Table, IReadOnlyList<TierSummary> Tiers)
{
    public TierSummary? For(IlmTier tier) =>
        Tiers.FirstOrDefault(t => t.Tier.Equals(tier.ToString(), StringComparison.OrdinalIgnoreCase));

    /// <summary>Counts partitions by the tier their tablespace belongs to (where they are, not where they are due).</summary>
    public static IlmSummary FromLayout(PartitionLayout layout, IlmPolicy policy)
    {
        var tiers = layout.Partitions
            .GroupBy(p => policy.TierOfTablespace(p.Tablespace) is { } t
                ? t.ToString().ToUpperInvariant()
                : "OTHER:" + (p.Tablespace ?? ""))
            .Select(g =>
            {
                var kinds = g.Select(p => PartitionName.Parse(p.Name).Kind).ToList();
                var isOther = g.Key.StartsWith("OTHER:", StringComparison.Ordinal);
                return new TierSummary(
                    isOther ? "OTHER" : g.Key,
                    isOther ? g.Key["OTHER:".Length..] : g.First().Tablespace,
                    kinds.Count(k => k == PartitionNameKind.Yearly),
                    kinds.Count(k => k == PartitionNameKind.Monthly),
                    kinds.Count(k => k == PartitionNameKind.Other),
                    g.Sum(p => p.RowEstimate ?? 0));
            })
            .OrderBy(t => t.Tier switch { "HOT" => 0, "WARM" => 1, "COLD" => 2, _ => 3 })
            .ThenBy(t => t.Tablespace, StringComparer.Ordinal)
            .ToList();
        return new IlmSummary(layout.Schema, layout.Table, tiers);
    }
}
