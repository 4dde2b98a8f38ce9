using Spectre.Console;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using PartitionOps.Cli.Commands;
using PartitionOps.Cli.Output;

namespace PartitionOps.Cli;

/// <summary>Where a run writes and whether those writers are terminals (decides progress bars and colours).</summary>
internal sealed record CliHost(TextWriter Stdout, TextWriter Stderr, bool StdoutIsTerminal, bool StderrIsTerminal)
{
    /// <summary>Secret values of the connection strings on the command line and in PARTITIONOPS_CONNECTION.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    public CliOutput CreateOutput(bool json, CancellationToken ct) => new(Stdout, Stderr, json, StdoutIsTerminal, StderrIsTerminal, ct,
        Secrets);

    /// <summary>
    /// The secrets of every connection string this run can see (any word after --connection, or --connection=..., and the
    /// environment variable), as every known driver reads them, so no output can repeat one.
    /// </summary>
    public static IReadOnlyList<string> SecretsOf(string[] args)
    {
        var strings = new List<string?> { Environment.GetEnvironmentVariable(CommonOptions.ConnectionVariable) };
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--connection" && i + 1 < args.Length) strings.Add(args[i + 1]);
            else if (args[i].StartsWith("--connection=", StringComparison.Ordinal)) strings.Add(args[i]["--connection=".Length..]);
        }
        return strings.SelectMany(s => Engine.Providers.ConnectionStrings.SecretValues(s)).Distinct().ToList();
    }
}

/// <summary>
/// The `partitionops` command line, runnable in-process: <see cref="RunAsync"/> parses, runs one command
/// and returns its exit code (0 done, 1 failed, 2 invalid input, 3 a check found problems).
/// </summary>
public static class CliApp
{
    /// <summary>Runs one command line. Writers other than Console.Out / Console.Error are never treated as terminals.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default) =>
        RunAsync(args, new CliHost(stdout, stderr,
            StdoutIsTerminal: ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected && !DumbTerminal(),
            StderrIsTerminal: ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected && !DumbTerminal())
        {
            Secrets = CliHost.SecretsOf(args),
        }, ct);

    internal static async Task<int> RunAsync(string[] args, CliHost host, CancellationToken ct)
    {
        var root = BuildRootCommand(host);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0) return ParseErrors(parse, args, host);
        if (ControlCharacterToken(parse) is { } bad)
            return host.CreateOutput(args.Contains("--json"), ct).Fail(new Engine.InvalidRequestException(bad.Option, bad.Value,
                "holds a line break or another control character: names, numbers, dates and files never do"));
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = host.Stdout,
                Error = host.Stderr,
                // Program.Main owns Ctrl+C / SIGTERM; in-process callers own their token.
                ProcessTerminationTimeout = null,
                EnableDefaultExceptionHandler = false,
            }, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Command bodies map their own failures; this is for anything outside them.
            return host.CreateOutput(args.Contains("--json"), ct).Fail(e);
        }
    }

    /// <summary>The command tree. Each group lives in its own file under Commands/.</summary>
    internal static RootCommand BuildRootCommand(CliHost host)
    {
        var root = new RootCommand("partitionops: incremental backfill and ILM partition merge for SQL Server, Oracle and PostgreSQL.\n" +
            "Exit codes: 0 done (a clean pause is done), 1 failed, 2 invalid input (nothing changed), 3 a check found problems.\n" +
            "--json writes one JSON document to stdout; human output then goes to stderr.");
        AddCommandGroups(root, host);
        return root;
    }

    private static void AddCommandGroups(RootCommand root, CliHost host)
    {
        root.Add(BackfillCommands.Create(host));
        root.Add(IlmCommands.Create(host));
        root.Add(DemoCommand.Create(host));
    }

    /// <summary>Usage errors (unknown option, non-numeric value, missing argument): exit 2, nothing ran.</summary>
    private static int ParseErrors(ParseResult parse, string[] args, CliHost host)
    {
        var output = host.CreateOutput(args.Contains("--json"), CancellationToken.None);
        var first = parse.Errors[0];
        var unmatched = parse.UnmatchedTokens.FirstOrDefault();
        var (parameter, value) = first.SymbolResult switch
        {
            OptionResult o => (o.Option.Name, Tokens(o)),
            ArgumentResult { Parent: OptionResult o } a => (o.Option.Name, Tokens(a)),
            ArgumentResult a => (a.Argument.Name, Tokens(a)),
            // An unknown option or word: the token itself is the bad value.
            CommandResult when unmatched != null => (null, unmatched),
            CommandResult c => (c.Command.Name, null),
            _ => (null, unmatched),
        };
        // The parser quotes tokens as typed: escape line breaks and scrub secrets before they reach a terminal or a log.
        string Safe(string? text) => Engine.InvalidRequestException.Escape(output.Scrub(text));
        foreach (var error in parse.Errors) output.Log.WriteLine($"error: {Safe(error.Message)}");
        output.Log.WriteLine("Run with --help to see the commands and options.");
        if (output.Json)
            JsonOutput.WriteError(host.Stdout, "usage", Safe(string.Join(" ", parse.Errors.Select(e => e.Message))), parameter,
                output.Scrub(value));
        return ExitCodes.InvalidInput;
    }

    /// <summary>Options whose value is free text, where a line break can be meant (a query, a description).</summary>
    internal static readonly IReadOnlySet<string> FreeTextOptions =
        new HashSet<string>(StringComparer.Ordinal) { "--throttle-query", "--description" };

    /// <summary>
    /// The first option or argument value with a control character (a trailing "\n" from a script, say), outside the
    /// free-text options: refused before anything runs, whatever the option, so no later trim can let it through.
    /// </summary>
    private static (string Option, string Value)? ControlCharacterToken(ParseResult parse)
    {
        for (SymbolResult? result = parse.CommandResult; result != null; result = result.Parent)
        {
            if (result is not CommandResult command) continue;
            foreach (var child in command.Children)
            {
                var (name, tokens) = child switch
                {
                    OptionResult o => (o.Option.Name, o.Tokens),
                    ArgumentResult a => (a.Argument.Name, a.Tokens),
                    _ => (null, null),
                };
                if (name is null || tokens is null || FreeTextOptions.Contains(name)) continue;
                foreach (var token in tokens)
                    if (token.Value.Any(char.IsControl)) return (name, token.Value);
            }
        }
        return null;
    }

    private static string? Tokens(SymbolResult result) =>
        result.Tokens.Count > 0 ? string.Join(" ", result.Tokens.Select(t => t.Value)) : null;

    private static bool DumbTerminal() =>
        Environment.GetEnvironmentVariable("TERM") == "dumb"
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PARTITIONOPS_NO_PROGRESS"));

    /// <summary>
    /// Program.Main: the first Ctrl+C (or SIGTERM) cancels cleanly (the current batch commits or rolls back
    /// whole, then the run pauses); a second Ctrl+C ends the process at once.
    /// </summary>
    internal static async Task<int> MainAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        var cancelled = 0;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (Interlocked.Increment(ref cancelled) > 1) return; // second press: let the runtime end the process
            e.Cancel = true;
            Console.Error.WriteLine("cancelling: finishing the current batch (press Ctrl+C again to abort at once)");
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cts.Cancel();
        });
        try
        {
            return await RunAsync(args, Console.Out, Console.Error, cts.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
