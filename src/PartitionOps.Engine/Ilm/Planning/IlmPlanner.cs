using System.Globalization;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Ilm.Planning;

/// <summary>What the run allows beyond the policy: config keys and the dialect's abilities.</summary>
public sealed record IlmPlanOptions
{
    /// <summary>AUTO_MERGE_PARTITIONS: false means moves only.</summary>
    public bool MergesEnabled { get; init; } = true;

    /// <summary>
    /// MAX_MERGES_PER_RUN, counted in merged partitions (audit rows); null for no limit. Incremental merges stop at the cap
    /// (the rest merge on a later run); with year_complete a year's months are never split: a year that does not fit waits whole.
    /// </summary>
    public int? MaxMerges { get; init; }

    /// <summary>Partitions whose last merge FAILED while MERGE_RETRY_FAILED = N: moved, never merged.</summary>
    public IReadOnlySet<string> DoNotMerge { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The engine can merge several partitions in one operation (Oracle 12c+, PostgreSQL).</summary>
    public bool MultiPartitionMerge { get; init; } = true;

    /// <summary>A merge rewrites the growing partition too (Oracle), not only the months (PostgreSQL).</summary>
    public bool MergeRewritesTarget { get; init; } = true;

    /// <summary>
    /// Plan only chosen actions (<see cref="IlmActionSelector"/>): null plans everything. With a filter, a month merges
    /// only when chosen (an unchosen one ends the months merging into that yearly partition), a January starts its
    /// yearly partition only when chosen, and a move or rename is planned only when chosen; the walk carries on as if
    /// the unchosen actions did not run.
    /// </summary>
    public IlmActionFilter? Only { get; init; }
}

/// <summary>The ordered actions for one table; <see cref="Work"/> excludes the skips.</summary>
public sealed record IlmPlan(
    string Schema,
    string Table,
    DateOnly AsOf,
    MergeStrategy Strategy,
    IReadOnlyList<IlmAction> Actions)
{
    public IEnumerable<IlmAction> Work => Actions.Where(a => a.Kind != IlmActionKind.Skip);

    public bool HasWork => Work.Any();

    public long RowsRewritten => Actions.Sum(a => a.RowsRewritten);

    public int MergedPartitionCount => Actions.OfType<MergeAction>().Sum(m => m.MergedSources.Count);
}

/// <summary>
/// The pure ILM planner: layout + policy + as-of date -> ordered actions. No database, no clock.
/// Rules (spec, with DESIGN §6 corrections):
/// a partition goes to the coldest tier whose threshold its data has passed; due monthly partitions
/// merge into the adjacent yearly partition of the same year and tier, several months in one action
/// (pairwise on interval-partitioned tables); a due month that merges is not moved first (the merge
/// places it); nothing merges across tiers; a January month right after the complete previous year
/// is renamed to start its yearly partition; a year without a yearly partition otherwise stays
/// monthly unless <see cref="IlmPolicy.CreateMissingYearly"/>; YearComplete waits for the whole year.
/// </summary>
public static class IlmPlanner
{
    public static IlmPlan Plan(PartitionLayout layout, IlmPolicy policy, DateOnly asOf, IlmPlanOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new IlmPlanOptions();
        var actions = new List<IlmAction>();
        if (!policy.Enabled)
        {
            actions.Add(new SkipAction(layout.Table, "the policy's tier_config.enabled is false"));
            return new IlmPlan(layout.Schema, layout.Table, asOf, policy.Strategy, actions);
        }
        new Walk(layout, policy, asOf, options, actions).Run();
        return new IlmPlan(layout.Schema, layout.Table, asOf, policy.Strategy, actions);
    }

    private sealed class Walk
    {
        private readonly IlmPolicy _policy;
        private readonly IlmPlanOptions _options;
        private readonly List<IlmAction> _actions;
        private readonly IReadOnlyList<PartitionInfo> _parts;
        private readonly PartitionName[] _names;
        private readonly IlmTier[] _tiers;
        private readonly HashSet<int> _yearsWithYearly = [];
        private readonly Dictionary<int, string> _reasons = [];
        private readonly Dictionary<int, string> _heldBack = [];
        private readonly HashSet<int> _waitsForMerge = [];
        private readonly bool _pairwise;
        private readonly string? _onlineNote;
        private int _mergeBudget;

        // The partition before the current one as it will be once the actions so far have run.
        private PartitionName? _previousName;
        private DateTime? _previousUpper;

        public Walk(PartitionLayout layout, IlmPolicy policy, DateOnly asOf, IlmPlanOptions options, List<IlmAction> actions)
        {
            _policy = policy;
            _options = options;
            _actions = actions;
            _parts = layout.InBoundOrder();
            _names = _parts.Select(p => PartitionName.Parse(p.Name)).ToArray();
            _tiers = _parts.Select(p => policy.TierOf(p.UpperBound, asOf)).ToArray();
            for (var i = 0; i < _parts.Count; i++)
                if (_names[i].Kind == PartitionNameKind.Yearly) _yearsWithYearly.Add(_names[i].Year);
            // Oracle cannot merge more than two partitions of an interval-partitioned or index-organized table at once.
            _pairwise = !options.MultiPartitionMerge || layout.PairwiseMergeReason != null;
            _mergeBudget = options.MaxMerges ?? int.MaxValue;
            // online: true that the table cannot have is said on every move and merge, not silently dropped.
            _onlineNote = policy.Online && layout.OnlineUnavailableReason is { } why ? $"online: true is not used, {why}" : null;
        }

        public void Run()
        {
            var i = 0;
            while (i < _parts.Count) i = Visit(i);
        }

        /// <summary>Plans partition <paramref name="i"/> (and the months merged into it); returns the next index.</summary>
        private int Visit(int i)
        {
            var p = _parts[i];
            var name = _names[i];
            var tier = _tiers[i];
            if (name.Kind == PartitionNameKind.Other)
            {
                _actions.Add(new SkipAction(p.Name, "not named P_YYYY or P_YYYY_MM: left alone"));
                return Advance(i, name, p.UpperBound);
            }
            if (!name.BoundsMatch(p))
            {
                _actions.Add(new SkipAction(p.Name, $"its bounds {Range(p.LowerBound, p.UpperBound)} do not match its name: left alone"));
                return Advance(i, name, p.UpperBound);
            }
            if (tier == IlmTier.Hot) return Advance(i, name, p.UpperBound);

            var startsYear = false;
            var headOfYear = false;
            if (_options.MergesEnabled && _policy.MergesInto(tier))
            {
                if (name.Kind == PartitionNameKind.Yearly) headOfYear = true;
                else if (!_yearsWithYearly.Contains(name.Year)
                         && (FollowsCompleteYear(name) || (_policy.CreateMissingYearly && FirstOfItsYear(name))))
                    headOfYear = startsYear = true;
            }
            // Only chosen actions: a January that is not chosen does not start its yearly partition (nor do later months join it).
            if (startsYear && _options.Only is { } only && !only.AllowsRename(p.Name, name.YearlyName))
                headOfYear = startsYear = false;
            if (!headOfYear)
            {
                PlaceAlone(i);
                return Advance(i, name, p.UpperBound);
            }

            var months = CollectMonths(i, tier);
            if (months.Count == 0)
            {
                PlaceAlone(i, explainMonthly: !startsYear, startsYear: startsYear);
                if (!startsYear) return Advance(i, name, p.UpperBound);
                _actions.Add(new RenameAction(p.Name, name.YearlyName,
                    (name.Month == 1 && FollowsCompleteYear(name)
                        ? $"January after the complete {_previousName!.Name}: starts the yearly partition {name.YearlyName} (metadata only)"
                        : $"first month of {name.Year}: starts the yearly partition {name.YearlyName} (create_missing_yearly)")
                    + (_waitsForMerge.Contains(i) ? "; not moved before the merge of its year (move_before_merge is false)" : "")));
                _yearsWithYearly.Add(name.Year);
                return Advance(i, PartitionName.Parse(name.YearlyName), p.UpperBound);
            }

            var target = startsYear ? name.YearlyName : p.Name;
            EmitMerges(i, months, target, tier);
            _yearsWithYearly.Add(name.Year);
            return Advance(months[^1], PartitionName.Parse(target), _parts[months[^1]].UpperBound);
        }

        /// <summary>The due months of the head's year that can merge into it now, in bound order.</summary>
        private List<int> CollectMonths(int head, IlmTier tier)
        {
            var year = _names[head].Year;
            var target = _names[head].Kind == PartitionNameKind.Yearly ? _parts[head].Name : _names[head].YearlyName;
            var months = new List<int>();
            var j = head + 1;
            for (; j < _parts.Count; j++)
            {
                var q = _parts[j];
                var qName = _names[j];
                if (qName.Kind != PartitionNameKind.Monthly || qName.Year != year || !qName.BoundsMatch(q)) break;
                if (q.LowerBound != _parts[j - 1].UpperBound)
                {
                    _reasons[j] = $"not adjacent to {_parts[j - 1].Name} (it ends at {Date(_parts[j - 1].UpperBound)}): " +
                                  $"cannot merge into {_names[head].YearlyName}";
                    break;
                }
                if (_tiers[j] != tier)
                {
                    if (_tiers[j] != IlmTier.Hot)
                        _reasons[j] = $"due for {Tier(_tiers[j])} while {_parts[head].Name} is due for {Tier(tier)}: " +
                                      "nothing merges across tiers";
                    break;
                }
                if (_options.DoNotMerge.Contains(q.Name))
                {
                    _reasons[j] = "its last merge FAILED and MERGE_RETRY_FAILED = N";
                    _heldBack[j] = _names[head].Kind == PartitionNameKind.Yearly ? _parts[head].Name : _names[head].YearlyName;
                    break;
                }
                if (_options.Only is { } only && !only.AllowsMerge(q.Name, target))
                {
                    _reasons[j] = $"not chosen to merge into {target} in this run";
                    break;
                }
                months.Add(j);
            }

            var lastUpper = months.Count > 0 ? _parts[months[^1]].UpperBound : _parts[head].UpperBound;
            if (_policy.Strategy == MergeStrategy.YearComplete && lastUpper != new DateTime(year + 1, 1, 1))
            {
                // move_before_merge: false: the head and these months wait where they are for the year's merge, which places them
                // (one write per row), when the rest of the year is there and only younger: it will come due in this tier.
                var waits = !_policy.MoveBeforeMerge && j < _parts.Count && _names[j].Kind == PartitionNameKind.Monthly
                            && _names[j].Year == year && _names[j].BoundsMatch(_parts[j])
                            && _parts[j].LowerBound == _parts[j - 1].UpperBound
                            && _tiers[j] < tier && !_options.DoNotMerge.Contains(_parts[j].Name);
                var reason = $"strategy year_complete: {year} merges once all its months are due for {Tier(tier)}";
                if (waits)
                {
                    reason += $"; not moved before (move_before_merge is false): the merge places it in {_policy.For(tier).Tablespace}";
                    _waitsForMerge.Add(head);
                    _waitsForMerge.UnionWith(months);
                }
                foreach (var m in months)
                    _reasons[m] = reason;
                months.Clear();
            }

            // The month that starts a new yearly partition counts as merged when others join it.
            var startsYear = _names[head].Kind == PartitionNameKind.Monthly;
            var cost = months.Count + (startsYear && months.Count > 0 ? 1 : 0);
            if (cost > _mergeBudget && _policy.Strategy == MergeStrategy.YearComplete)
            {
                // year_complete merges a year once: never split by the cap. A year that does not fit in what is left
                // waits whole for a later run; one that exceeds the cap itself never fits, so the reason says how far to raise it.
                var into = startsYear ? _names[head].YearlyName : _parts[head].Name;
                var reason = _options.MaxMerges is { } cap && cap > 0 && cost > cap
                    ? $"strategy year_complete merges the {cost} months of {year} in one operation, " +
                      $"more than MAX_MERGES_PER_RUN = {cap}: " +
                      $"it never fits, raise MAX_MERGES_PER_RUN (or the run's limit) to {cost} or more"
                    : $"MAX_MERGES_PER_RUN reached: strategy year_complete merges the {cost} months of {year} together, " +
                      $"{Math.Max(0, _mergeBudget)} left in this run: merges on a later run";
                foreach (var m in months)
                {
                    _reasons[m] = reason;
                    _heldBack[m] = into;
                }
                months.Clear();
                cost = 0;
            }
            if (cost > _mergeBudget)
            {
                var allowed = Math.Max(0, _mergeBudget - (startsYear ? 1 : 0));
                foreach (var m in months.Skip(allowed))
                {
                    _reasons[m] = "MAX_MERGES_PER_RUN reached: merges on a later run";
                    _heldBack[m] = startsYear ? _names[head].YearlyName : _parts[head].Name;
                }
                months = months.Take(allowed).ToList();
                cost = months.Count + (startsYear && months.Count > 0 ? 1 : 0);
            }
            _mergeBudget -= cost;
            return months;
        }

        private void EmitMerges(int head, List<int> months, string target, IlmTier tier)
        {
            var settings = _policy.For(tier);
            var headPart = _parts[head];
            if (!_pairwise)
            {
                _actions.Add(BuildMerge(target, [headPart.Name, .. months.Select(m => _parts[m].Name)], tier, settings,
                    headPart.LowerBound, headPart.Tablespace, headPart.Compression, headPart.RowEstimate, months));
                return;
            }
            // Pairwise: each month merges into what the previous merge produced.
            var headName = headPart.Name;
            var headTablespace = headPart.Tablespace;
            var headCompression = headPart.Compression;
            var headRows = headPart.RowEstimate;
            foreach (var m in months)
            {
                _actions.Add(BuildMerge(target, [headName, _parts[m].Name], tier, settings,
                    headPart.LowerBound, headTablespace, headCompression, headRows, [m]));
                headName = target;
                headTablespace = settings.Tablespace;
                headCompression = settings.Compression;
                headRows = (headRows ?? 0) + (_parts[m].RowEstimate ?? 0);
            }
        }

        private MergeAction BuildMerge(string target, IReadOnlyList<string> sources, IlmTier tier, TierSettings settings,
            DateTime? lower, string? headTablespace, string? headCompression, long? headRows, IReadOnlyList<int> months)
        {
            long? monthRows = months.All(m => _parts[m].RowEstimate is null) ? null : months.Sum(m => _parts[m].RowEstimate ?? 0);
            var headRelocates = NeedsRelocation(headTablespace, headCompression, settings, tier);
            var rewritten = (monthRows ?? 0) + (_options.MergeRewritesTarget || headRelocates ? headRows ?? 0 : 0);
            var merge = new MergeAction(target, sources, tier, settings.Tablespace, settings.Compression,
                lower, _parts[months[^1]].UpperBound!.Value, headTablespace, headRows, monthRows, rewritten);
            return merge with { MovesIfFailed = MovesIfFailed(merge, settings), Note = _onlineNote };
        }

        /// <summary>
        /// The months this merge places in its tier (a due HOT month has no move of its own: the merge places it) that
        /// are not there yet: moved there on their own when the merge fails, as they would be if they stayed monthly.
        /// </summary>
        private List<MoveAction> MovesIfFailed(MergeAction merge, TierSettings settings)
        {
            var moves = new List<MoveAction>();
            foreach (var source in merge.MergedSources)
            {
                var i = IndexOf(source);
                if (i < 0 || _names[i].Kind != PartitionNameKind.Monthly) continue;
                var p = _parts[i];
                if (NeedsRelocation(p.Tablespace, p.Compression, settings, merge.Tier))
                    moves.Add(new MoveAction(p.Name, p.Tablespace, settings.Tablespace, settings.Compression, merge.Tier, p.RowEstimate)
                    {
                        AfterFailedMergeInto = merge.TargetName,
                        Note = _onlineNote,
                    });
            }
            return moves;
        }

        /// <summary>
        /// A partition that stays as it is: moved to its tier if needed, with a reason when a month stays monthly.
        /// <paramref name="startsYear"/>: the January renamed next to start its yearly partition; when chosen (as a
        /// merge of that month or the rename), its move to the tier comes with it.
        /// </summary>
        private void PlaceAlone(int i, bool explainMonthly = true, bool startsYear = false)
        {
            var p = _parts[i];
            var tier = _tiers[i];
            var settings = _policy.For(tier);
            var current = _policy.TierOfTablespace(p.Tablespace);
            var inTarget = string.Equals(p.Tablespace, settings.Tablespace, StringComparison.OrdinalIgnoreCase);
            if (!inTarget && current is { } c && c > tier)
                _actions.Add(new SkipAction(p.Name, $"already in the colder tier {Tier(c)} ({p.Tablespace}): never moved back"));
            else if (NeedsRelocation(p.Tablespace, p.Compression, settings, tier) && _waitsForMerge.Contains(i))
            {
                // Not moved: its year's merge places it (move_before_merge: false). A month says so in its reason below.
                if (_names[i].Kind == PartitionNameKind.Yearly)
                    _actions.Add(new SkipAction(p.Name, $"not moved to {settings.Tablespace} before the merge of {_names[i].Year} " +
                        "(move_before_merge is false): the merge places it"));
            }
            else if (NeedsRelocation(p.Tablespace, p.Compression, settings, tier))
            {
                var move = new MoveAction(p.Name, p.Tablespace, settings.Tablespace, settings.Compression, tier, p.RowEstimate)
                {
                    Note = _onlineNote,
                };
                if (_options.Only is not { } only || only.AllowsMove(move)
                    || (startsYear && only.AllowsMerge(p.Name, _names[i].YearlyName)))
                    _actions.Add(move);
            }

            var name = _names[i];
            if (explainMonthly && name.Kind == PartitionNameKind.Monthly && _options.MergesEnabled && _policy.MergesInto(tier))
                _actions.Add(new SkipAction(p.Name, _reasons.GetValueOrDefault(i) ?? WhyStaysMonthly(i), _heldBack.GetValueOrDefault(i)));
        }

        private string WhyStaysMonthly(int i)
        {
            var name = _names[i];
            var yearly = name.YearlyName;
            if (!_yearsWithYearly.Contains(name.Year))
            {
                var why = name.Month == 1
                    ? $"no yearly partition {yearly} and the partition before it is not the complete P_{name.Year - 1}"
                    : $"no yearly partition {yearly}";
                return $"{why}: stays monthly (create_missing_yearly is off)";
            }
            for (var k = 0; k < _parts.Count; k++)
            {
                if (_names[k].Kind == PartitionNameKind.Yearly && _names[k].Year == name.Year && _tiers[k] != _tiers[i])
                    return $"{_parts[k].Name} is due for {Tier(_tiers[k])} while this month is due for {Tier(_tiers[i])}: " +
                           "nothing merges across tiers";
            }
            return $"not adjacent to {yearly}: stays monthly";
        }

        private bool NeedsRelocation(string? tablespace, string? compression, TierSettings settings, IlmTier tier)
        {
            // Engines without table compression report none: nothing to fix then.
            if (string.Equals(tablespace, settings.Tablespace, StringComparison.OrdinalIgnoreCase))
                return compression != null && !string.Equals(compression, settings.Compression, StringComparison.OrdinalIgnoreCase);
            // Tiers may share a tablespace; a partition already in a colder tier's own tablespace stays there.
            return !(_policy.TierOfTablespace(tablespace) is { } current && current > tier);
        }

        private int IndexOf(string partition)
        {
            for (var i = 0; i < _parts.Count; i++)
                if (string.Equals(_parts[i].Name, partition, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }

        private bool FollowsCompleteYear(PartitionName month) =>
            month.Month == 1
            && _previousName is { Kind: PartitionNameKind.Yearly } previous
            && previous.Year == month.Year - 1
            && _previousUpper == month.Start;

        private bool FirstOfItsYear(PartitionName month) =>
            _previousName is null || _previousName.Year < month.Year;

        private int Advance(int last, PartitionName name, DateTime? upper)
        {
            _previousName = name;
            _previousUpper = upper;
            return last + 1;
        }

        private static string Tier(IlmTier tier) => tier.ToString().ToUpperInvariant();

        private static string Date(DateTime? d) => d?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "MAXVALUE";

        private static string Range(DateTime? lower, DateTime? upper) =>
            $"[{lower?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "MINVALUE"}, {Date(upper)})";
    }
}
