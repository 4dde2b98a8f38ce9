using PartitionOps.Engine;
using PartitionOps.Engine.Ilm.Planning;

namespace PartitionOps.PowerShell.Ilm;

/// <summary>One action Invoke-IlmPartitionMerge was asked to run: a piped candidate, or a partition named with -Partition.</summary>
public sealed record IlmSelectedAction(string Action, IReadOnlyList<string> SourcePartitions, string? TargetPartition)
{
    /// <summary>-Partition P_2023_11: the spec's manual merge_monthly_into_yearly of one monthly partition.</summary>
    public static IlmSelectedAction MergeOf(string partition) => new("Merge", [partition], null);

    public bool IsMerge => Action.Equals("Merge", StringComparison.OrdinalIgnoreCase);

    public bool IsSkip => Action.Equals("Skip", StringComparison.OrdinalIgnoreCase);

    /// <summary>The engine's key for it (IlmRunRequest.Only): the run plans the table and runs only the chosen actions.</summary>
    public IlmActionKey ToKey() => new(Enum.Parse<IlmActionKind>(Action, ignoreCase: true), SourcePartitions, TargetPartition);
}

/// <summary>
/// Invoke-IlmPartitionMerge's selection, for the engine: the keys of what to run (IlmRunRequest.Only; the engine plans
/// the table as usual and runs only those, see IlmActionSelector), and its bad-input errors named after the cmdlet's
/// parameters.
/// </summary>
public static class IlmSelection
{
    public static IReadOnlyList<IlmActionKey> Keys(IEnumerable<IlmSelectedAction> selection) =>
        selection.Where(s => !s.IsSkip).Select(s => s.ToKey()).ToList();

    /// <summary>
    /// The engine names a choice that cannot run after its command line option (--only-partition): -Partition for the
    /// manual merge, -SourcePartition for piped candidates. Other errors are returned as they are.
    /// </summary>
    public static InvalidRequestException Translate(InvalidRequestException e, bool explicitMerge)
    {
        if (e.Parameter != IlmActionSelector.Parameter) return e;
        return e.Renamed(explicitMerge ? "-Partition" : "-SourcePartition");
    }
}
