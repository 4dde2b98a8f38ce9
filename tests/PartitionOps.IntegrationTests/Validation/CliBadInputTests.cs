using System.CommandLine;
using System.CommandLine.Help;
using PartitionOps.Cli;
using PartitionOps.Engine;
using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Validation;

/// <summary>
/// Every option of every command, reflected from the command tree (so a new option is walked too), fed bad values
/// derived from its type: negative, zero, huge, overflowing, empty, a trailing line break, unicode digits or letters,
/// SQL-shaped, impossible dates, missing files and folders. Each must be exit 2 with a message that shows the value,
/// and leave the real PostgreSQL database exactly as it was (catalog and row counts).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CliBadInputTests(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>(command, option, value class) that are valid input, with why: zero is a real setting for these.</summary>
    private static readonly HashSet<(string Command, string Option, string Class)> Valid =
    [
        ("*", "--delay-ms", "zero"),                 // no pause between batches
        ("*", "--target-batch-ms", "zero"),          // fixed batch size
        ("*", "--maxdop", "zero"),                   // the server's setting
        ("*", "--max-merges", "zero"),               // moves and renames only
        ("*", "--max-warm-monthly", "zero"),         // alert on any monthly WARM partition
        ("*", "--rows-per-month", "zero"),           // empty months
        ("*", "--max-failure-rate", "zero"),         // alert on any failure
        ("*", "--min-success-rate", "zero"),
        ("*", "--max-warm-monthly-percent", "zero"),
        ("*", "--max-merge-seconds", "zero"),
        ("*", "--max-average-merge-seconds", "zero"),
        ("ilm run", "--max-duration", "zero"),       // start no action: a valid (if odd) time box
    ];

    [Fact]
    public async Task Every_option_of_every_command_refuses_bad_values_with_exit_2_naming_the_value_and_changes_nothing()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        await db.ExecAsync("""
            CREATE TABLE public.sales (id bigint NOT NULL, sale_date date NOT NULL) PARTITION BY RANGE (sale_date);
            CREATE TABLE public.p_2023_11 PARTITION OF public.sales FOR VALUES FROM ('2023-11-01') TO ('2023-12-01');
            CREATE TABLE public.p_2023_12 PARTITION OF public.sales FOR VALUES FROM ('2023-12-01') TO ('2024-01-01');
            INSERT INTO public.sales SELECT g, DATE '2023-11-01' + (g % 61) FROM generate_series(1, 600) g;
            """);
        var before = await DatabaseFingerprint.ReadAsync(db.ConnectionString);
        var folder = Directory.CreateTempSubdirectory("partitionops-bad-input").FullName;
        var root = CliApp.BuildRootCommand(new CliHost(TextWriter.Null, TextWriter.Null, false, false));

        var cases = 0;
        var failures = new List<string>();
        foreach (var (path, command) in Commands(root, []))
        {
            foreach (var option in command.Options.Where(o => o is not HelpOption and not VersionOption))
            {
                foreach (var (cls, value) in BadValues(option, folder))
                {
                    if (Valid.Contains(("*", option.Name, cls)) || Valid.Contains((string.Join(" ", path), option.Name, cls))) continue;
                    cases++;
                    var args = Arguments(path, command, db.ConnectionString, (option.Name, value));
                    var run = await CliRun.RunAsync(args);
                    var problem = Judge(run, value);
                    if (problem is null && await DatabaseFingerprint.ReadAsync(db.ConnectionString) != before)
                        problem = "the database changed";
                    if (problem != null)
                    {
                        failures.Add($"{string.Join(" ", path)} {option.Name} [{cls}] {InvalidRequestException.ShowValue(value)}: " +
                            $"{problem}\n{run}");
                        // Later cases must start from the same database.
                        if (problem == "the database changed") break;
                    }
                }
                if (failures.Count > 0 && failures[^1].Contains("the database changed", StringComparison.Ordinal)) break;
            }
            foreach (var argument in command.Arguments)
            {
                foreach (var value in new[] { "", "NOT_A_KEY", "-1", "MAX_MERGES_PER_RUN\n" })
                {
                    if (argument.Name == "VALUE" && value == "NOT_A_KEY") continue;
                    cases++;
                    var run = await CliRun.RunAsync(Arguments(path, command, db.ConnectionString, (argument.Name, value)));
                    if (Judge(run, value) is { } problem) failures.Add(
                        $"{string.Join(" ", path)} {argument.Name} '{value}': {problem}\n{run}");
                }
            }
        }
        output.WriteLine($"{cases} bad values tried");
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {cases} bad values were not refused cleanly:\n\n" + string.Join("\n\n",
            failures.Take(15)) + "\n\nAll:\n" + string.Join("\n", failures.Select(f => f.Split('\n')[0])));
        Assert.True(cases > 300, $"only {cases} cases: the command tree walk lost options");
        Assert.Equal(before, await DatabaseFingerprint.ReadAsync(db.ConnectionString));
    }

    /// <summary>Exit 2, the value shown in the error (escaped where it holds a line break), no stack trace, no exception type.</summary>
    private static string? Judge(CliRun run, string value)
    {
        if (run.ExitCode != 2) return $"exit {run.ExitCode}, not 2";
        var shown = InvalidRequestException.Escape(value);
        if (!run.Stderr.Contains(shown.Length == 0 ? "''" : shown,
            StringComparison.OrdinalIgnoreCase)) return "the message does not show the value";
        if (run.Stderr.Contains("   at ", StringComparison.Ordinal) || run.Stderr.Contains("Exception", StringComparison.Ordinal))
            return "the message shows an exception";
        return null;
    }

    /// <summary>Every command that runs something, with its path of names from the root.</summary>
    private static IEnumerable<(string[] Path, Command Command)> Commands(Command command, string[] path)
    {
        foreach (var sub in command.Subcommands)
        {
            var subPath = path.Append(sub.Name).ToArray();
            if (sub.Action != null) yield return (subPath, sub);
            foreach (var nested in Commands(sub, subPath)) yield return nested;
        }
    }

    /// <summary>
    /// A command line that would be valid but for <paramref name="bad"/>: the connection, a table where the command
    /// takes one, dates for simulate, a key and value for config set.
    /// </summary>
    private static string[] Arguments(string[] path, Command command, string connectionString, (string Name, string Value) bad)
    {
        var names = command.Options.Select(o => o.Name).ToHashSet();
        var values = new List<(string, string)>();
        if (names.Contains("--provider")) values.Add(("--provider", "postgresql"));
        if (names.Contains("--connection")) values.Add(("--connection", connectionString));
        if (names.Contains("--table")) values.Add(("--table", "sales"));
        if (names.Contains("--from")) values.Add(("--from", "2024-01-01"));
        if (names.Contains("--to")) values.Add(("--to", "2025-01-01"));
        var positional = command.Arguments.Select(a => a.Name switch { "KEY" => "MAX_MERGES_PER_RUN", _ => "5" }).ToList();
        var badArgument = command.Arguments.ToList().FindIndex(a => a.Name == bad.Name);
        if (badArgument >= 0) positional[badArgument] = bad.Value;
        else values = values.Where(v => v.Item1 != bad.Name).Append(bad).ToList();
        return [.. path, .. positional, .. values.SelectMany(v => new[] { v.Item1, v.Item2 })];
    }

    /// <summary>Bad values by the option's type and what it names (from its value type and help name).</summary>
    private static IEnumerable<(string Class, string Value)> BadValues(Option option, string folder)
    {
        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        var help = option.HelpName ?? "";
        var name = option.Name;
        const string injection = "1; DROP TABLE public.sales; --";
        if (type == typeof(bool)) return [("type", "maybe"), ("injection", "true; DROP TABLE public.sales")];
        if (type == typeof(int))
            return [("negative", "-1"), ("zero", "0"), ("huge", "99999999"), ("overflow", "2147483648"), ("empty", ""),
                    ("newline", "5\n"), ("unicode", "٥"), ("injection", injection), ("fraction", "1.5")];
        if (type == typeof(long))
            return [("negative", "-1"), ("zero", "0"), ("huge", "9999999999999"), ("overflow", "9223372036854775808"), ("empty", ""),
                    ("newline", "5\n"), ("unicode", "٥"), ("injection", injection)];
        if (type == typeof(double))
            return [("negative", "-1"), ("zero", "0"), ("huge", "99999999999999"), ("nan", "NaN"), ("infinite", "1e400"), ("empty", ""),
                    ("newline", "5\n"), ("injection", injection)];
        if (help.Contains("|off", StringComparison.Ordinal))
            return [("negative", "-1"), ("huge", "99999999999999"), ("empty", ""), ("newline", "5\n"), ("unicode", "٥"),
                ("injection", injection), ("word", "of")];
        if (help == "hh:mm:ss")
            return [("negative", "-00:00:01"), ("zero", "00:00:00"), ("huge", "3650.00:00:00"), ("overflow", "99999999.00:00:00"),
                    ("empty", ""), ("newline", "01:00:00\n"), ("unicode", "٠١:00:00"), ("injection", "01:00:00; DROP TABLE public.sales"),
                    ("bare", "5")];
        if (help == "YYYY-MM-DD")
            return [("impossible", "2024-02-30"), ("first-day", "0001-01-01"), ("last-day", "9999-12-31"), ("empty", ""),
                    ("newline", "2024-01-01\n"), ("unicode", "２０２４-01-01"), ("injection", "2024-01-01'; DROP TABLE public.sales; --"),
                    ("other-format", "01/02/2024")];
        if (name == "--output")
            return [("empty", ""), ("folder", folder), ("missing-folder", Path.Combine(folder, "no", "such", "x.json")),
                ("newline", "x\n.json")];
        if (help.Contains("FILE", StringComparison.Ordinal))
            return [("empty", ""), ("folder", folder), ("missing", Path.Combine(folder, "missing.json")), ("newline", "x\n.json"),
                    ("unicode", Path.Combine(folder, "ünï.json"))];
        if (name is "--schema" or "--control-schema")
            return [("empty", ""), ("newline", "partitionops\n"), ("system", "pg_catalog"), ("system", "information_schema"),
                ("system", "pg_toast"),
                    ("unicode", "ünï"), ("injection", "x\"; DROP TABLE public.sales; --"), ("long", new string('s', 200))];
        if (name is "--table" or "--only-partition" or "--resource-type")
            return [("empty", ""), ("newline", "sales\n"), ("unicode", "ünï"), ("injection", "sales\"; DROP TABLE public.sales; --"),
                    ("long", new string('t', 200))];
        if (name == "--provider") return [("empty", ""), ("unknown", "mysql"), ("newline", "postgresql\n"), ("injection", injection)];
        if (name == "--connection") return [("empty", ""), ("malformed", "Host=localhost;Port=abc"), ("newline", "Host=x\n")];
        if (help == "Y|N") return [("empty", ""), ("word", "maybe"), ("newline", "Y\n"), ("unicode", "ÿ")];
        if (name == "--throttle-query") return [("empty", ""), ("blank", "   ")];
        if (name == "--description") return [("long", new string('d', 4001)), ("control", "a\u0001b")];
        // Anything else (a new option): the values no option accepts.
        return [("empty", ""), ("newline", "x\n"), ("unicode", "ünï"), ("injection", injection)];
    }
}
