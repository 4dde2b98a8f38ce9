using Spectre.Console;

namespace PartitionOps.Cli.Output;

/// <summary>
/// Where one command writes. Results go to stdout (as JSON with --json, else as text); with --json
/// every human line goes to stderr. Log lines and progress always go to stderr.
/// </summary>
internal sealed class CliOutput
{
    public CliOutput(TextWriter stdout, TextWriter stderr, bool json, bool stdoutIsTerminal, bool stderrIsTerminal,
        CancellationToken cancellation,
        IReadOnlyList<string>? secrets = null)
    {
        Secrets = secrets ?? [];
        Stdout = stdout;
        Stderr = stderr;
        Json = json;
        StderrIsTerminal = stderrIsTerminal;
        Cancellation = cancellation;
        Log = CreateConsole(stderr, stderrIsTerminal);
        Human = json ? Log : CreateConsole(stdout, stdoutIsTerminal);
    }

    /// <summary>Secret values of the connection strings this run was given: never written, whatever carries them.</summary>
    public IReadOnlyList<string> Secrets { get; }

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
        // Engine errors name request properties; show this command line's option instead.
        if (e is Engine.InvalidRequestException engineError) e = OptionNames.Translate(engineError);
        var (code, kind) = ExitCodes.Classify(e);
        var message = e is OperationCanceledException
            ? "cancelled: the current batch committed or rolled back whole; run the same command again to resume"
            : e.Message;
        if (kind == "unexpected") message = $"{e.GetType().Name}: {message}";
        message = Scrub(message);
        var (parameter, value) = e is Engine.InvalidRequestException bad ? (bad.Parameter, (object?)Scrub(Convert.ToString(bad.Value,
            System.Globalization.CultureInfo.InvariantCulture))) : (null, null);
        lock (Log) Log.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        if (kind == "unexpected" && Environment.GetEnvironmentVariable("PARTITIONOPS_DEBUG") == "1") Info(Scrub(e.ToString()));
        if (Json) JsonOutput.WriteError(Stdout, kind, message, parameter, value);
        return code;
    }

    /// <summary><paramref name="text"/> with every secret of <see cref="Secrets"/> replaced by ***.</summary>
    public string Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        foreach (var secret in Secrets.Where(s => s.Length > 0).OrderByDescending(s => s.Length))
            text = text.Replace(secret, Engine.Providers.ConnectionStrings.Mask, StringComparison.Ordinal);
        return text;
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
