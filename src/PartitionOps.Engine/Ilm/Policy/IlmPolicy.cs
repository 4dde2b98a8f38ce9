using System.Text.Json;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Validation;

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

    /// <summary>
    /// <c>tier_config.move_before_merge</c> (default true): with <see cref="MergeStrategy.YearComplete"/>, false keeps a due
    /// month (and the yearly partition it will join) where it is until its year's merge places the whole year in the tier:
    /// each aged row is then written once (by the merge) instead of twice (its move, then the merge), at the price of
    /// months staying in the warmer tier's tablespace until their year is complete. Only with year_complete.
    /// </summary>
    public bool MoveBeforeMerge { get; init; } = true;

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
            var matches = existing.Where(e => string.Equals(e, name,
                StringComparison.OrdinalIgnoreCase)).Distinct(StringComparer.Ordinal).ToList();
            return matches.Count switch
            {
                0 => name,
                1 => matches[0],
                _ => throw new InvalidRequestException(P, "tablespace", name,
                    $"matches {string.Join(" and ", matches)}, which differ only in letter case " +
                    $"(the policy's {tier.ToString().ToLowerInvariant()} tier names it): " +
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

    /// <summary>The key of policy errors: the request property every ILM request carries (front ends: --policy, -Policy).</summary>
    private const string P = nameof(IlmRunRequest.Policy);

    /// <summary>
    /// Longest tier age: 1,200 months (100 years). Ages count back from the as-of date with DateTime.AddMonths, which
    /// throws below year 1, and no partition of a real table is that old; 100000 months is a typo, not a policy.
    /// </summary>
    public const int MaxAgeMonths = 1200;

    /// <summary>The keys of each level of the policy file; a new key is one entry here (then read it in <see cref="Parse"/>).</summary>
    public static readonly KnownKeys RootKeys = new(["tier_config"]);
    public static readonly KnownKeys TierConfigKeys = new(
        ["enabled", "auto_merge", "strategy", "create_missing_yearly", "move_before_merge", "online", "merge_method",
         "hot", "warm", "cold"]);
    public static readonly KnownKeys TierKeys = new(["interval", "tablespace", "compression", "age_months", "merge_monthly"]);

    /// <summary>Values of tier_config.merge_method (how PostgreSQL merges: rebuild a new partition, or insert in place).</summary>
    public static readonly IReadOnlyList<string> MergeMethods = ["rebuild", "in_place"];

    public static IlmPolicy Load(string? path)
    {
        if (path is null) return Default;
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidRequestException(P, path,
            "is empty: give a policy file, or leave the option out for the spec's defaults");
        if (Directory.Exists(path)) throw new InvalidRequestException(P, path, "is a folder, not a policy file");
        if (!File.Exists(path)) throw new InvalidRequestException(P, path, "does not exist");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Parses the template JSON: either {"tier_config": {...}} or the tier_config object itself.
    /// Comments (the spec's template has them) and trailing commas are accepted; a key left out takes the default.
    /// Unknown keys (naming the nearest known one), null values, out-of-range ages and inverted tiers are refused.
    /// <paramref name="source"/> names the file in error messages.
    /// </summary>
    public static IlmPolicy Parse(string json, string source = "policy")
    {
        using var document = JsonFile.Parse(json, P, source);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidRequestException(P, source, "must be a JSON object with tier_config");
        var wrapped = root.TryGetProperty("tier_config", out var tc);
        var reader = new PolicyReader(source);
        if (wrapped) reader.Keys(RootKeys, root, "");
        var config = wrapped ? tc : root;
        var path = wrapped ? "tier_config" : "";
        if (config.ValueKind != JsonValueKind.Object) throw reader.Bad("tier_config", config, "must be an object");
        reader.Keys(TierConfigKeys, config, path);
        var d = Default;
        var policy = new IlmPolicy
        {
            Enabled = reader.Bool(config, path, "enabled", d.Enabled),
            AutoMerge = reader.Bool(config, path, "auto_merge", d.AutoMerge),
            Strategy = reader.Strategy(config, path, "strategy", d.Strategy),
            MergeMethod = reader.Method(config, path, "merge_method", d.MergeMethod),
            CreateMissingYearly = reader.Bool(config, path, "create_missing_yearly", d.CreateMissingYearly),
            MoveBeforeMerge = reader.Bool(config, path, "move_before_merge", d.MoveBeforeMerge),
            Online = reader.Bool(config, path, "online", d.Online),
            Hot = reader.Tier(config, path, "hot", d.Hot),
            Warm = reader.Tier(config, path, "warm", d.Warm),
            Cold = reader.Tier(config, path, "cold", d.Cold),
        };
        if (!policy.MoveBeforeMerge && policy.Strategy != MergeStrategy.YearComplete)
            throw reader.Bad(Join(path, "move_before_merge"), false,
                "is only for strategy year_complete: incremental merges a month as soon as it is due, so nothing waits for a merge");
        if (policy.Cold.AgeMonths is { } coldAge)
            throw reader.Bad(Join(path, "cold.age_months"), coldAge,
                "is not used: COLD has no upper edge (hot.age_months and warm.age_months set where WARM and COLD start)");
        if (policy.ColdAfterMonths <= policy.WarmAfterMonths)
            throw reader.Bad(Join(path, "warm.age_months"), policy.ColdAfterMonths,
                $"must be greater than hot.age_months {policy.WarmAfterMonths}: WARM must start before COLD");
        return policy;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private sealed class PolicyReader(string source)
    {
        public void Keys(KnownKeys keys, JsonElement obj, string path)
        {
            try { keys.Check(obj, P, path); }
            catch (InvalidRequestException e) { throw new InvalidRequestException(P, $"{source}: {e.Field}", e.Value, e.Problem); }
        }

        /// <summary>A key that is present must hold a value: null would silently mean the default.</summary>
        private bool Present(JsonElement obj, string path, string name, out JsonElement value)
        {
            if (!obj.TryGetProperty(name, out value)) return false;
            if (value.ValueKind == JsonValueKind.Null)
                throw Bad(Join(path, name), "null", "is null: leave the key out to take the default, or give a value");
            return true;
        }

        public bool Bool(JsonElement obj, string path, string name, bool fallback)
        {
            if (!Present(obj, path, name, out var v)) return fallback;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Bad(Join(path, name), v, "must be true or false"),
            };
        }

        public string? String(JsonElement obj, string path, string name)
        {
            if (!Present(obj, path, name, out var v)) return null;
            if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
                throw Bad(Join(path, name), v, "must be a non-empty string");
            return v.GetString()!.Trim();
        }

        public MergeStrategy Strategy(JsonElement obj, string path, string name, MergeStrategy fallback) =>
            String(obj, path, name) is not { } text ? fallback
            : text.ToLowerInvariant().Replace("-", "_") switch
            {
                "incremental" => MergeStrategy.Incremental,
                "year_complete" => MergeStrategy.YearComplete,
                _ => throw Bad(Join(path, name), text, "must be incremental or year_complete"),
            };

        public MergeMethod Method(JsonElement obj, string path, string name, MergeMethod fallback) =>
            String(obj, path, name) is not { } text ? fallback
            : text.ToLowerInvariant().Replace("-", "_") switch
            {
                "rebuild" => MergeMethod.Rebuild,
                "in_place" or "inplace" => MergeMethod.InPlace,
                _ => throw Bad(Join(path, name), text, $"must be {string.Join(" or ", MergeMethods)}"),
            };

        public TierSettings Tier(JsonElement config, string path, string name, TierSettings fallback)
        {
            var at = Join(path, name);
            if (!Present(config, path, name, out var tier)) return fallback;
            if (tier.ValueKind != JsonValueKind.Object) throw Bad(at, tier, "must be an object");
            Keys(TierKeys, tier, at);
            var interval = String(tier, at, "interval") is not { } intervalText ? fallback.Interval
                : intervalText.ToUpperInvariant() switch
                {
                    "MONTHLY" => PartitionInterval.Monthly,
                    "YEARLY" => PartitionInterval.Yearly,
                    _ => throw Bad(Join(at, "interval"), intervalText, "must be MONTHLY or YEARLY"),
                };
            var tablespace = fallback.Tablespace;
            if (String(tier, at, "tablespace") is { } ts)
            {
                try { tablespace = Identifier.Validate(ts, P); }
                catch (InvalidRequestException e) { throw Bad(Join(at, "tablespace"), ts, e.Problem); }
            }
            var compression = String(tier, at, "compression")?.ToUpperInvariant() ?? fallback.Compression;
            if (!KnownCompressions.Contains(compression))
                throw Bad(Join(at, "compression"), compression, "must be NONE, BASIC or ADVANCED");
            int? age = fallback.AgeMonths;
            if (Present(tier, at, "age_months", out var a))
            {
                if (a.ValueKind != JsonValueKind.Number || !a.TryGetInt32(out var months) || months is <= 0 or > MaxAgeMonths)
                    throw Bad(Join(at, "age_months"), a, $"must be a whole number of months from 1 to {MaxAgeMonths:N0} (100 years)");
                age = months;
            }
            var merge = Bool(tier, at, "merge_monthly", interval == PartitionInterval.Yearly && fallback.MergeMonthly);
            return new TierSettings(interval, tablespace, compression, age, merge);
        }

        public InvalidRequestException Bad(string field, object? value, string problem) =>
            new(P, $"{source}: {field}", value is JsonElement e ? e.GetRawText() : value, problem);
    }
}
