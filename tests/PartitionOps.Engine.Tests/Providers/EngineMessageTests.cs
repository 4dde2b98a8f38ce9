using System.Text.RegularExpressions;
using PartitionOps.Engine.Tests.PowerShell;

namespace PartitionOps.Engine.Tests.Providers;

/// <summary>
/// The engine speaks in request property names; each front end names its own options (the CLI's OptionNames, the
/// cmdlets' mappings). A string literal of the engine that names a command-line option ("--max-duration") would reach
/// a PowerShell user as an option they do not have. SQL comments ("-- text") are not options.
/// </summary>
public sealed partial class EngineMessageTests
{
    [GeneratedRegex("\"[^\"]*--[a-z][a-z-]+")]
    private static partial Regex OptionInLiteral();

    [Fact]
    public void No_string_literal_of_the_engine_names_a_command_line_option()
    {
        var engine = Path.Combine(ModuleFacts.RepoRoot, "src", "PartitionOps.Engine");
        var files = Directory.GetFiles(engine, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)).ToList();
        Assert.True(files.Count > 50, $"only {files.Count} engine files found under {engine}");
        var found = (from file in files
                     from line in File.ReadLines(file).Select((text, i) => (Text: text, Number: i + 1))
                     let code = line.Text.TrimStart()
                     where !code.StartsWith("//", StringComparison.Ordinal) && !code.StartsWith('*') && OptionInLiteral().IsMatch(code)
                     select $"{Path.GetRelativePath(engine, file)}:{line.Number}: {code}").ToList();
        Assert.True(found.Count == 0, "engine text names CLI options:\n" + string.Join("\n", found));
    }
}
