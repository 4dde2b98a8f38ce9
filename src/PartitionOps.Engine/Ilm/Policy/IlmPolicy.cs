using System.Text.Json;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm.Policy;

public enum IlmTier
{
    Hot = 0,
    Warm = 1,
    Cold = 2,
}

public enum PartitionInterval
{
    Monthly,
    Yearly,
}

/// <summary>
/// When monthly partitions are merged into their yearly partition. Incremental merges each month as
/// it arrives (on Oracle the yearly partition is rewritten every time); YearComplete waits until all
/// months of the year are in the tier and merges them once.
/// </summary>
public enum MergeStrategy
{
    Incremental,
    YearComplete,
}

/// <summary>
/// How a merge or move rewrites rows where the engine offers a choice (PostgreSQL). Rebuild copies the partition that
/// grows and the months into a new table beside the live ones (readers never wait; the yearly partition is rewritten),
/// then swaps it in under a brief exclusive lock; InPlace copies only the months into the partition that grows, but
/// holds the partitioned table's exclusive lock for that copy. Oracle merges with its own statement and ignores it.
/// </summary>
public enum MergeMethod
{
    Rebuild,
    InPlace,
}

/// <summary>One tier of the template: where its partitions live and how they are stored.</summary>
public sealed record TierSettings(
    PartitionInterval Interval,
    string Tablespace,
    string Compression,
    int? AgeMonths,
    bool MergeMonthly);

/// <summary>
/// The template's <c>tier_config</c> (DESIGN §5) plus the merge options. <see cref="Default"/> is the
/// spec's: HOT monthly below 24 months, WARM yearly up to 60 months, COLD yearly beyond.
/// </summary>
public sealed record IlmPolicy
{
    public static readonly IReadOnlySet<string> KnownCompressions =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "NONE", "BASIC", "ADVANCED" };

    public bool Enabled { get; init; } = true;
    public bool AutoMerge { get; init; } = true;
    public TierSettings Hot { get; init; } = new(PartitionInterval.Monthly, "TBS_HOT", "NONE", 24, false);
    public TierSettings Warm { get; init; } = new(PartitionInterval.Yearly, "TBS_WARM", "BASIC", 60, true);
    public TierSettings Cold { get; init; } = new(PartitionInterval.Yearly, "TBS_COLD", "BASIC", null, true);
    public MergeStrategy Strategy { get; init; } = MergeStrategy.Incremental;

    /// <summary><c>tier_config.merge_method</c>: <c>rebuild</c> (default) or <c>in_place</c>.</summary>
    public MergeMethod MergeMethod { get; init; } = MergeMethod.Rebuild;

    /// <summary>Start a yearly partition for a year that has none (DESIGN §6); off by default, as the spec recommends.</summary>
    public bool CreateMissingYearly { get; init; }

    /// <summary>Use ONLINE moves and merges where the server has them (Oracle 18c+).</summary>
    public bool Online { get; init; }

    public static IlmPolicy Default { get; } = new();

    public int WarmAfterMonths => Hot.AgeMonths ?? 24;
    public int ColdAfterMonths => Warm.AgeMonths ?? 60;

    public TierSettings For(IlmTier tier) => tier switch
    {
        IlmTier.Hot => Hot,
        IlmTier.Warm => Warm,
        _ => Cold,
    };

    /// <summary>
    /// DESIGN §5: the coldest tier whose threshold all the partition's data has passed, i.e. WARM when
    /// upper &lt;= as_of - 24 months, COLD when upper &lt;= as_of - 60 months. MAXVALUE stays HOT.
    /// </summary>
    public IlmTier TierOf(DateTime? upperBound, DateOnly asOf)
    {
        if (upperBound is not { } upper) return IlmTier.Hot;
        var asOfDate = asOf.ToDateTime(TimeOnly.MinValue);
        if (upper <= asOfDate.AddMonths(-ColdAfterMonths)) return IlmTier.Cold;
        if (upper <= asOfDate.AddMonths(-WarmAfterMonths)) return IlmTier.Warm;
        return IlmTier.Hot;
    }

    /// <summary>The tier a tablespace belongs to, or null when it is none of the policy's.</summary>
    public IlmTier? TierOfTablespace(string? tablespace)
    {
        if (tablespace is null) return null;
        foreach (var tier in new[] { IlmTier.Cold, IlmTier.Warm, IlmTier.Hot })
            if (string.Equals(For(tier).Tablespace, tablespace, StringComparison.OrdinalIgnoreCase)) return tier;
        return null;
    }

    /// <summary>
    /// The policy with each tier's tablespace spelled as the database spells it, so plans compare and SQL names the
    /// real tablespace: the default policy's TBS_WARM is PostgreSQL's tbs_warm (created unquoted, folded to lower case).
    /// An exact match wins; else the one name that matches ignoring letter case is used; two or more that differ only
    /// in case are bad input naming them; no match leaves the name as it is (a plan that needs it reports it missing).
    /// </summary>
    public IlmPolicy ResolveTablespaces(IReadOnlyCollection<string> existing)
    {
        ArgumentNullException.ThrowIfNull(existing);
        string Resolve(string name, IlmTier tier)
        {
            if (existing.Contains(name, StringComparer.Ordinal)) return name;
            var matches = existing.Where(e => string.Equals(e, name, StringComparison.OrdinalIgnoreCase)).Distinct(StringComparer.Ordinal).ToList();
            return matches.Count switch
            {
                0 => name,
                1 => matches[0],
                _ => throw new InvalidRequestException("tablespace", name,
                    $"matches {string.Join(" and ", matches)}, which differ only in letter case (the policy's {tier.ToString().ToLowerInvariant()} tier names it): " +
                    "name one of them exactly in the policy"),
            };
        }
        return this with
        {
            Hot = Hot with { Tablespace = Resolve(Hot.Tablespace, IlmTier.Hot) },
            Warm = Warm with { Tablespace = Resolve(Warm.Tablespace, IlmTier.Warm) },
            Cold = Cold with { Tablespace = Resolve(Cold.Tablespace, IlmTier.Cold) },
        };
    }

    /// <summary>Whether monthly partitions that reach <paramref name="tier"/> merge into yearly ones.</summary>
    public bool MergesInto(IlmTier tier)
    {
        if (!Enabled || !AutoMerge || tier == IlmTier.Hot) return false;
        var settings = For(tier);
        return settings.MergeMonthly && settings.Interval == PartitionInterval.Yearly;
    }

    public static IlmPolicy Load(string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return Default;
        if (!File.Exists(path)) throw new InvalidRequestException("--policy", path, "does not exist");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Parses the template JSON: either {"tier_config": {...}} or the tier_config object itself.
    /// Comments (the spec's template has them) and trailing commas are accepted; anything missing
    /// takes the default. <paramref name="source"/> names the file in error messages.
    /// </summary>
    public static IlmPolicy Parse(string json, string source = "policy")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException("--policy", source, $"is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidRequestException("--policy", source, "must be a JSON object with tier_config");
            var config = root.TryGetProperty("tier_config", out var tc) ? tc : root;
            if (config.ValueKind != JsonValueKind.Object)
                throw new InvalidRequestException("--policy", source, "tier_config must be an object");
            var reader = new PolicyReader(source);
            var d = Default;
            var policy = new IlmPolicy
            {
                Enabled = reader.Bool(config, "enabled", d.Enabled),
                AutoMerge = reader.Bool(config, "auto_merge", d.AutoMerge),
                Strategy = reader.Strategy(config, "strategy", d.Strategy),
                MergeMethod = reader.Method(config, "merge_method", d.MergeMethod),
                CreateMissingYearly = reader.Bool(config, "create_missing_yearly", d.CreateMissingYearly),
                Online = reader.Bool(config, "online", d.Online),
                Hot = reader.Tier(config, "hot", d.Hot),
                Warm = reader.Tier(config, "warm", d.Warm),
                Cold = reader.Tier(config, "cold", d.Cold),
            };
            if (policy.WarmAfterMonths <= 0)
                throw new InvalidRequestException("--policy", source, $"hot.age_months {policy.WarmAfterMonths} must be positive");
            if (policy.ColdAfterMonths <= policy.WarmAfterMonths)
                throw new InvalidRequestException("--policy", source,
                    $"warm.age_months {policy.ColdAfterMonths} must be greater than hot.age_months {policy.WarmAfterMonths}");
            return policy;
        }
    }

    private sealed class PolicyReader(string source)
    {
        public bool Bool(JsonElement obj, string name, bool fallback)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Bad(name, v, "must be true or false"),
            };
        }

        public string? String(JsonElement obj, string name)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
                throw Bad(name, v, "must be a non-empty string");
            return v.GetString()!.Trim();
        }

        public MergeStrategy Strategy(JsonElement obj, string name, MergeStrategy fallback) =>
            String(obj, name)?.ToLowerInvariant().Replace("-", "_") switch
            {
                null => fallback,
                "incremental" => MergeStrategy.Incremental,
                "year_complete" => MergeStrategy.YearComplete,
                var other => throw new InvalidRequestException("--policy", source,
                    $"has strategy '{other}': use incremental or year_complete"),
            };

        public MergeMethod Method(JsonElement obj, string name, MergeMethod fallback) =>
            String(obj, name)?.ToLowerInvariant().Replace("-", "_") switch
            {
                null => fallback,
                "rebuild" => MergeMethod.Rebuild,
                "in_place" or "inplace" => MergeMethod.InPlace,
                var other => throw new InvalidRequestException("--policy", source,
                    $"has merge_method '{other}': use rebuild or in_place"),
            };

        public TierSettings Tier(JsonElement config, string name, TierSettings fallback)
        {
            if (!config.TryGetProperty(name, out var tier) || tier.ValueKind == JsonValueKind.Null) return fallback;
            if (tier.ValueKind != JsonValueKind.Object) throw Bad(name, tier, "must be an object");
            var interval = String(tier, "interval")?.ToUpperInvariant() switch
            {
                null => fallback.Interval,
                "MONTHLY" => PartitionInterval.Monthly,
                "YEARLY" => PartitionInterval.Yearly,
                var other => throw new InvalidRequestException("--policy", source, $"has {name}.interval '{other}': use MONTHLY or YEARLY"),
            };
            var tablespace = String(tier, "tablespace") is { } ts ? Identifier.Validate(ts, $"{source}: {name}.tablespace") : fallback.Tablespace;
            var compression = String(tier, "compression")?.ToUpperInvariant() ?? fallback.Compression;
            if (!KnownCompressions.Contains(compression))
                throw new InvalidRequestException("--policy", source, $"has {name}.compression '{compression}': use NONE, BASIC or ADVANCED");
            int? age = fallback.AgeMonths;
            if (tier.TryGetProperty("age_months", out var a) && a.ValueKind != JsonValueKind.Null)
            {
                if (a.ValueKind != JsonValueKind.Number || !a.TryGetInt32(out var months) || months <= 0)
                    throw Bad($"{name}.age_months", a, "must be a positive whole number of months");
                age = months;
            }
            var merge = Bool(tier, "merge_monthly", interval == PartitionInterval.Yearly && fallback.MergeMonthly);
            return new TierSettings(interval, tablespace, compression, age, merge);
        }

        private InvalidRequestException Bad(string name, JsonElement value, string problem) =>
            new("--policy", source, $"has {name} = {value.GetRawText()}: it {problem}");
    }
}
