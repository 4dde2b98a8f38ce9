using Spectre.Console;

namespace PartitionOps.Cli.Output;

/// <summary>
/// Where one command writes. Results go to stdout (as JSON with --json, else as text); with --json
/// every human line goes to stderr. Log lines and progress always go to stderr.
/// </summary>
internal sealed class CliOutput
{
    public CliOutput(TextWriter stdout, TextWriter stderr, bool json, bool stdoutIsTerminal, bool stderrIsTerminal, CancellationToken cancellation)
    {
        Stdout = stdout;
        Stderr = stderr;
        Json = json;
        StderrIsTerminal = stderrIsTerminal;
        Cancellation = cancellation;
        Log = CreateConsole(stderr, stderrIsTerminal);
        Human = json ? Log : CreateConsole(stdout, stdoutIsTerminal);
    }

    public TextWriter Stdout { get; }
    public TextWriter Stderr { get; }
    public bool Json { get; }
    public bool StderrIsTerminal { get; }
    public CancellationToken Cancellation { get; }

    /// <summary>Results for people: stdout, or stderr when --json.</summary>
    public IAnsiConsole Human { get; }

    /// <summary>Log lines, warnings, progress: stderr.</summary>
    public IAnsiConsole Log { get; }

    /// <summary>Progress bars only on an interactive terminal and never with --json.</summary>
    public bool UseProgressBars => StderrIsTerminal && !Json;

    /// <summary>Writes the command's result: the JSON document with --json, else the human rendering.</summary>
    public void Result(object document, Action<IAnsiConsole> human)
    {
        if (Json) JsonOutput.Write(Stdout, document);
        else human(Human);
    }

    /// <summary>A plain line to stderr, not interpreted as markup.</summary>
    public void Info(string line)
    {
        lock (Log) Log.WriteLine(line);
    }

    public void Warn(string line)
    {
        lock (Log) Log.MarkupLine($"[yellow]{Markup.Escape(line)}[/]");
    }

    /// <summary>The one place a command's failure is reported: stderr always, and the JSON error with --json.</summary>
    public int Fail(Exception e)
    {
        var (code, kind) = ExitCodes.Classify(e);
        var message = e is OperationCanceledException
            ? "cancelled: the current batch committed or rolled back whole; run the same command again to resume"
            : e.Message;
        if (kind == "unexpected") message = $"{e.GetType().Name}: {message}";
        var (parameter, value) = e is Engine.InvalidRequestException bad ? (bad.Parameter, bad.Value) : (null, null);
        lock (Log) Log.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        if (kind == "unexpected" && Environment.GetEnvironmentVariable("PARTITIONOPS_DEBUG") == "1") Info(e.ToString());
        if (Json) JsonOutput.WriteError(Stdout, kind, message, parameter, value);
        return code;
    }

    private static IAnsiConsole CreateConsole(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        // Not a terminal: never wrap (SQL text and log lines stay whole for scripts and files).
        if (!terminal) console.Profile.Width = 4096;
        return console;
    }
}
