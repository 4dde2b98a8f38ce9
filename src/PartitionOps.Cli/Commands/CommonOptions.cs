using System.CommandLine;
using PartitionOps.Cli.Output;
using PartitionOps.Engine;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Cli.Commands;

/// <summary>The options every database command takes (DESIGN §5). One instance per command.</summary>
internal sealed class CommonOptions
{
    public const string ConnectionVariable = "PARTITIONOPS_CONNECTION";

    public Option<string?> Provider { get; } = new("--provider")
    {
        Description = "Database: sqlserver, oracle or postgresql (required).",
        HelpName = "sqlserver|oracle|postgresql",
    };

    public Option<string?> Connection { get; } = new("--connection")
    {
        Description = $"ADO.NET connection string (default: the {ConnectionVariable} environment variable).",
    };

    public Option<string?> Schema { get; } = new("--schema")
    {
        Description = "Schema of the table (default: the profile's, else dbo / public).",
    };

    public Option<string?> ControlSchema { get; } = new("--control-schema")
    {
        Description = "Schema of the control tables (default: partitionops).",
    };

    public JsonOption Json { get; } = new();

    public static CommonOptions AddTo(Command command)
    {
        var options = new CommonOptions();
        command.Add(options.Provider);
        command.Add(options.Connection);
        command.Add(options.Schema);
        command.Add(options.ControlSchema);
        command.Add(options.Json);
        return options;
    }

    /// <summary>Provider and connection string to a target; bad or missing values are invalid input (exit 2).</summary>
    public DatabaseTarget Target(ParseResult parse)
    {
        var name = parse.GetValue(Provider);
        if (string.IsNullOrWhiteSpace(name))
            throw new InvalidRequestException("--provider", name ?? "", $"is required: one of {string.Join(", ", ProviderRegistry.Names)}");
        var provider = ProviderRegistry.Get(name);
        // Checked on every command that connects, also those that do not use them (config), so no option is ignored silently.
        if (parse.GetValue(Schema) is { } schema) Identifier.ValidateSchema(schema, "--schema");
        if (parse.GetValue(ControlSchema) is { } controlSchema) Identifier.ValidateSchema(controlSchema, "--control-schema");
        var connection = parse.GetValue(Connection);
        if (connection is not null && string.IsNullOrWhiteSpace(connection))
            throw new InvalidRequestException("--connection", connection,
                "is empty: give a connection string (or leave the option out to use " +
                $"{ConnectionVariable})");
        connection ??= Environment.GetEnvironmentVariable(ConnectionVariable);
        try
        {
            return new DatabaseTarget(provider, connection ?? "");
        }
        catch (Exception e)
            when (e is ArgumentException or FormatException or KeyNotFoundException or InvalidCastException or OverflowException)
        {
            // The driver's parser refused the string in a way the provider did not catch: show it with its secrets masked.
            throw new InvalidRequestException("--connection", ConnectionStrings.Redact(connection, provider),
                $"is not a valid connection string: {ConnectionStrings.RefusalReason(e, connection ?? "", provider)}");
        }
    }
}

/// <summary>--json: one JSON document on stdout, human output on stderr.</summary>
internal sealed class JsonOption : Option<bool>
{
    public JsonOption() : base("--json")
    {
        Description = "Write one JSON document to stdout (human output goes to stderr).";
    }
}

/// <summary>Runs a command body with its output set up, and maps whatever it throws to an exit code.</summary>
internal static class CommandRunner
{
    public static void SetRun(this Command command, CliHost host, JsonOption json, Func<ParseResult, CliOutput, Task<int>> body) =>
        command.SetAction(async (parse, ct) =>
        {
            var output = host.CreateOutput(parse.GetValue(json), ct);
            try
            {
                return await body(parse, output).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return output.Fail(e);
            }
        });
}

/// <summary>Numeric options whose parse error names the option and the bad value in plain words.</summary>
internal static class Numbers
{
    public static Option<int?> Int(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (int.TryParse(token, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture,
                out var value)) return value;
            result.AddError($"{name} '{token}' is not a whole number");
            return null;
        },
    };

    public static Option<long?> Long(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (long.TryParse(token.Replace("_", ""),
                System.Globalization.NumberStyles.Integer | System.Globalization.NumberStyles.AllowThousands,
                    System.Globalization.CultureInfo.InvariantCulture, out var value)) return value;
            result.AddError($"{name} '{token}' is not a whole number");
            return null;
        },
    };

    /// <summary>
    /// A throttle limit: a number, or "off". The value is the text, checked here (a usage error names the option and
    /// the value); <see cref="LimitValue"/> turns it into the engine's limit, null meaning off.
    /// </summary>
    public static Option<string?> Limit(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            try { Engine.Backfill.ThrottleOptions.ParseLimit(name, token); }
            catch (InvalidRequestException e) { result.AddError(e.Message); }
            return token;
        },
    };

    /// <summary>The limit of a <see cref="Limit"/> option: the number, or null for "off".</summary>
    public static double? LimitValue(Option<string?> option, string text) => Engine.Backfill.ThrottleOptions.ParseLimit(option.Name, text);

    public static Option<double?> Double(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (double.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture,
                out var value)
                && double.IsFinite(value)) return value;
            result.AddError($"{name} '{token}' is not a number");
            return null;
        },
    };

    /// <summary>
    /// A duration option's text as hh:mm:ss (or d.hh:mm:ss); null when not given. A bare number would parse as days,
    /// so the colons are required. The engine checks the sign.
    /// </summary>
    public static TimeSpan? Duration(string? text, string option)
    {
        if (text is null) return null;
        if (text.Contains(':') && TimeSpan.TryParse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var value))
            return value;
        throw new InvalidRequestException(option, text, "is not a duration: use hh:mm:ss");
    }
}
