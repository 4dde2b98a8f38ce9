using System.Text.Json.Serialization;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Ilm.Planning;

public enum IlmActionKind
{
    Move,
    Merge,
    Rename,
    Skip,
}

/// <summary>One step of an ILM plan for one table. Plans are data: the executor runs them in order.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "action")]
[JsonDerivedType(typeof(MoveAction), "move")]
[JsonDerivedType(typeof(MergeAction), "merge")]
[JsonDerivedType(typeof(RenameAction), "rename")]
[JsonDerivedType(typeof(SkipAction), "skip")]
public abstract record IlmAction
{
    public abstract IlmActionKind Kind { get; }

    /// <summary>The partition the action is about (for a merge: the name of the result).</summary>
    public abstract string Partition { get; }

    /// <summary>Rows the action copies (catalog estimates): what it costs.</summary>
    public virtual long RowsRewritten => 0;

    /// <summary>
    /// Something the policy asked for that this action cannot do, said in the plan rather than silently dropped (e.g.
    /// <c>online: true</c> on an Oracle index-organized table); null when there is nothing to say.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; init; }

    /// <summary>One line for people: what and why.</summary>
    public abstract string Describe();

    /// <summary>The <see cref="Note"/> as a suffix of <see cref="Describe"/>.</summary>
    protected string NoteSuffix => Note is null ? "" : $" (note: {Note})";
}

/// <summary>Moves a partition to its tier's tablespace with the tier's compression.</summary>
public sealed record MoveAction(
    string PartitionName,
    string? FromTablespace,
    string ToTablespace,
    string Compression,
    IlmTier Tier,
    long? RowEstimate) : IlmAction
{
    public override IlmActionKind Kind => IlmActionKind.Move;
    public override string Partition => PartitionName;
    public override long RowsRewritten => RowEstimate ?? 0;

    /// <summary>
    /// Set on a move the run makes because the merge into this partition failed (<see cref="MergeAction.MovesIfFailed"/>).
    /// </summary>
    public string? AfterFailedMergeInto { get; init; }

    public override string Describe() =>
        $"move {PartitionName} from {FromTablespace ?? "?"} to {ToTablespace} ({Tier.ToString().ToUpperInvariant()}, {Compression})" +
        (AfterFailedMergeInto is { } target ? $": the merge into {target} failed, the month still goes to its tier" : "") + NoteSuffix;
}

/// <summary>
/// Merges adjacent partitions, lowest first, into one named <see cref="TargetName"/>, placed in the
/// tier's tablespace with its compression. <see cref="Sources"/>[0] is the partition that grows (the
/// yearly one, or the month that starts a new year); the others are the months merged into it.
/// </summary>
public sealed record MergeAction(
    string TargetName,
    IReadOnlyList<string> Sources,
    IlmTier Tier,
    string Tablespace,
    string Compression,
    DateTime? LowerBound,
    DateTime UpperBound,
    string? HeadTablespace,
    long? HeadRowEstimate,
    long? MonthsRowEstimate,
    long EstimatedRowsRewritten) : IlmAction
{
    public override IlmActionKind Kind => IlmActionKind.Merge;
    public override string Partition => TargetName;
    public override long RowsRewritten => EstimatedRowsRewritten;

    /// <summary>The partition that grows: the existing yearly one or the month that becomes it.</summary>
    [JsonIgnore]
    public string Head => Sources[0];

    /// <summary>Sources that disappear into the target: one audit row each.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> MergedSources =>
        Sources.Where(s => !string.Equals(s, TargetName, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>
    /// Months merged in that are not where the tier keeps them yet (a due HOT month merging straight into a WARM yearly
    /// partition has no move of its own). When the merge fails without taking effect, the run moves each of them there
    /// on its own (an audited move with its own outcome), so the data still reaches its tier (spec, "If Merge Fails");
    /// the next run merges them again (MERGE_RETRY_FAILED = Y) with nothing left to move. Not run when the run is out of
    /// time or cancelled.
    /// </summary>
    public IReadOnlyList<MoveAction> MovesIfFailed { get; init; } = [];

    public override string Describe() =>
        $"merge {string.Join(", ", Sources)} into {TargetName} in {Tablespace} " +
        $"({Tier.ToString().ToUpperInvariant()}, {Compression}), up to {UpperBound:yyyy-MM-dd}" +
        (MovesIfFailed.Count == 0
            ? ""
            : $"; if the merge fails, {string.Join(", ", MovesIfFailed.Select(m => m.PartitionName))} " +
              $"{(MovesIfFailed.Count == 1 ? "is" : "are")} moved to {Tablespace} on {(MovesIfFailed.Count == 1 ? "its" : "their")} own") +
        NoteSuffix;
}

/// <summary>Renames a partition (metadata only), e.g. January P_2024_01 starting the yearly P_2024.</summary>
public sealed record RenameAction(string PartitionName, string NewName, string Reason) : IlmAction
{
    public override IlmActionKind Kind => IlmActionKind.Rename;
    public override string Partition => PartitionName;
    public override string Describe() => $"rename {PartitionName} to {NewName}: {Reason}";
}

/// <summary>
/// Nothing is done to the partition, and here is why. <see cref="WouldMergeInto"/> is set when a merge
/// was due but held back by the run's limits (MAX_MERGES_PER_RUN, MERGE_RETRY_FAILED = N): the run
/// writes a SKIPPED audit row for it.
/// </summary>
public sealed record SkipAction(string PartitionName, string Reason, string? WouldMergeInto = null) : IlmAction
{
    public override IlmActionKind Kind => IlmActionKind.Skip;
    public override string Partition => PartitionName;
    public override string Describe() => $"skip {PartitionName}: {Reason}";
}
