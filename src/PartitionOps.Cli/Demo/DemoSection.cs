using PartitionOps.Cli.Output;
using PartitionOps.Demo;

namespace PartitionOps.Cli.Demo;

/// <summary>One part of `partitionops demo` (backfill now; ILM is appended later in <see cref="DemoSections.All"/>).</summary>
internal interface IDemoSection
{
    /// <summary>Short name, also the key of the section in the JSON summary.</summary>
    string Name { get; }

    Task<DemoSectionResult> RunAsync(DemoContext context);
}

/// <summary>What a section reports: whether its checks passed, and a summary object (rendered in --json).</summary>
internal sealed record DemoSectionResult(bool Passed, object Summary);

/// <summary>What every section gets: the throwaway server, its connection string, the demo's options and the output.</summary>
internal sealed record DemoContext(ThrowawayPostgres Server, string ConnectionString, DemoOptions Options, CliOutput Output)
{
    public CancellationToken Cancellation => Output.Cancellation;
}

internal sealed record DemoOptions(long Rows, int Types);

internal static class DemoSections
{
    /// <summary>The sections in the order they run. ILM: append `new IlmDemo()` here.</summary>
    public static IReadOnlyList<IDemoSection> All() =>
    [
        new BackfillDemo(),
        new IlmDemo(),
    ];
}
