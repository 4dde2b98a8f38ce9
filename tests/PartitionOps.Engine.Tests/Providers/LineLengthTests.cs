using System.Diagnostics;
using System.Text.RegularExpressions;
using PartitionOps.Engine.Tests.PowerShell;

namespace PartitionOps.Engine.Tests.Providers;

/// <summary>
/// .editorconfig says max_line_length = 140 for *.cs, *.ps1, *.psm1 and *.psd1, but no compiler or analyzer enforces it:
/// this test does, over every such file git tracks, and names each file:line that is longer. The exceptions are
/// listed below, each with its reason.
/// </summary>
public sealed partial class LineLengthTests
{
    private const int MaxLineLength = 140;

    private static readonly string[] Extensions = [".cs", ".ps1", ".psm1", ".psd1"];

    /// <summary>
    /// Files whose raw string literals ("""...""") hold SQL that golden tests compare byte for byte: wrapping a long
    /// line inside them changes the SQL text. Only lines inside a multi-line raw string are allowed here; the
    /// code around them keeps the limit.
    /// </summary>
    private static readonly Dictionary<string, string> GoldenRawSql = new(StringComparer.Ordinal)
    {
        ["src/PartitionOps.Engine/Providers/SqlServer/SqlServerBackfillDialect.cs"] =
            "SQL Server backfill batches: SqlServerBackfillDialectGoldenTests compares the text",
        ["tests/PartitionOps.Engine.Tests/Backfill/SqlServer/SqlServerBackfillDialectGoldenTests.cs"] =
            "the expected SQL Server text, the same lines as SqlServerBackfillDialect.cs",
        ["src/PartitionOps.Engine/Providers/PostgreSql/PostgreSqlBackfillDialect.cs"] =
            "the control-schema permission probe: PostgreSqlBackfillGoldenFileTests compares the text",
        ["src/PartitionOps.Engine/Providers/Oracle/OracleIlmDialect.cs"] =
            "the Oracle control tables' DDL (chk_merge_status): IlmControlSqlGoldenFileTests and OracleIlmDialectTests compare it",
        ["tests/PartitionOps.Engine.Tests/Ilm/OracleIlmLockTests.cs"] =
            "the expected Oracle DBMS_LOCK block, compared with Assert.Equal",
    };

    /// <summary>
    /// Single lines that cannot be wrapped without changing what they say: (file, how the line starts, why).
    /// </summary>
    private static readonly (string File, string LineStart, string Reason)[] UnwrappableLines =
    [
        ("PartitionOps.psd1", "    Description          = '",
            "a module manifest is a data file: no + to join strings, and a line break would go into the Gallery description"),
    ];


    /// <summary>A line that is only a URL (in a comment or not) cannot be wrapped without breaking the link.</summary>
    [GeneratedRegex(@"^\s*(//+|#|\*)?\s*[(<]?https?://\S+?[)>]?[,.;]?\s*$")]
    private static partial Regex UrlOnly();

    [Fact]
    public void No_tracked_source_line_is_longer_than_the_editorconfig_limit()
    {
        var files = TrackedFiles();
        Assert.True(files.Count > 100, $"only {files.Count} source files found under {ModuleFacts.RepoRoot}");
        var found = new List<string>();
        foreach (var file in files)
        {
            var goldenSql = GoldenRawSql.ContainsKey(file);
            var inRaw = false;
            var number = 0;
            foreach (var line in File.ReadLines(Path.Combine(ModuleFacts.RepoRoot, file)))
            {
                number++;
                var wasInRaw = inRaw;
                // A line with an odd number of """ opens or closes a multi-line raw string literal.
                if (file.EndsWith(".cs", StringComparison.Ordinal) && Regex.Count(line, "\"\"\"") % 2 == 1)
                    inRaw = !inRaw;
                if (line.Length <= MaxLineLength || UrlOnly().IsMatch(line) || (goldenSql && (wasInRaw || inRaw))
                    || UnwrappableLines.Any(u => u.File == file && line.StartsWith(u.LineStart, StringComparison.Ordinal)))
                    continue;
                found.Add($"{file}:{number}: {line.Length} columns");
            }
        }
        Assert.True(found.Count == 0,
            $"{found.Count} lines are longer than {MaxLineLength} columns (.editorconfig max_line_length):\n" + string.Join("\n", found));
    }

    [Fact]
    public void Every_exception_names_a_tracked_file()
    {
        var files = TrackedFiles().ToHashSet(StringComparer.Ordinal);
        Assert.All(GoldenRawSql.Keys, f => Assert.True(files.Contains(f), $"{f} is allowed long raw SQL but is not tracked"));
        Assert.All(UnwrappableLines, u => Assert.True(files.Contains(u.File), $"{u.File} has an allowed long line but is not tracked"));
    }

    /// <summary>
    /// The files git tracks (repository-relative, '/'-separated); without git, every file under the root but build output.
    /// </summary>
    private static List<string> TrackedFiles()
    {
        var root = ModuleFacts.RepoRoot;
        try
        {
            var start = new ProcessStartInfo("git", ["-C", root, "ls-files", "-z", "--", "*.cs", "*.ps1", "*.psm1", "*.psd1"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var git = Process.Start(start)!;
            var output = git.StandardOutput.ReadToEnd();
            git.WaitForExit();
            if (git.ExitCode == 0)
                return output.Split('\0', StringSplitOptions.RemoveEmptyEntries)
                    .Where(f => Extensions.Any(e => f.EndsWith(e, StringComparison.Ordinal)) && File.Exists(Path.Combine(root, f)))
                    .ToList();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No git on this machine: fall back to the files on disk below.
        }
        string[] skipped = ["bin", "obj", ".git", "TestResults", "artifacts"];
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => Extensions.Any(e => f.EndsWith(e, StringComparison.Ordinal)))
            .Where(f => !f.Split('/').Any(part => skipped.Contains(part)))
            .ToList();
    }
}
