using Spectre.Console;
using System.CommandLine;
using PartitionOps.Cli.Demo;
using PartitionOps.Cli.Output;
using PartitionOps.Demo;

namespace PartitionOps.Cli.Commands;

/// <summary>
/// `demo [--rows N] [--types N] [--keep]`: a throwaway local PostgreSQL, then every section of
/// <see cref="DemoSections.All"/> in order; exit 3 when a section's checks did not pass.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(CliHost host)
    {
        var command = new Command("demo",
            "Walk-through on a throwaway local PostgreSQL: FHIR-like sample, full backfill with live progress, validation; then ILM on a " +
            "tiered six-year sales table stepped through several as-of dates.");
        var rows = Numbers.Long("--rows", "Rows in the sample Resource table (default 1,000,000).", "N");
        var types = Numbers.Int("--types", "Resource types in the sample (default 150).", "N");
        var keep = new Option<bool>("--keep") { Description = "Leave the server running and print its connection string." };
        var json = new JsonOption();
        command.Add(rows);
        command.Add(types);
        command.Add(keep);
        command.Add(json);
        command.SetRun(host, json, async (parse, output) =>
        {
            var options = new DemoOptions(parse.GetValue(rows) ?? 1_000_000, parse.GetValue(types) ?? 150);
            if (options.Rows is < 1 or > 100_000_000)
                throw new Engine.InvalidRequestException("--rows", options.Rows,
                    "must be from 1 to 100,000,000 rows (a demo on a throwaway server)");
            if (options.Types is < 7 or > 30000) throw new Engine.InvalidRequestException("--types", options.Types,
                "must be between 7 and 30000");
            var keepServer = parse.GetValue(keep);

            output.Info("demo: starting a throwaway PostgreSQL");
            var server = await ThrowawayPostgres.StartAsync(output.Cancellation).ConfigureAwait(false);
            try
            {
                var connection = server.ConnectionString("postgres");
                output.Info($"demo: server running in {server.Root} (port {server.Port})");
                var context = new DemoContext(server, connection, options, output);
                var sections = new Dictionary<string, object>();
                var passed = true;
                foreach (var section in DemoSections.All())
                {
                    var result = await section.RunAsync(context).ConfigureAwait(false);
                    sections[section.Name] = result.Summary;
                    passed &= result.Passed;
                }
                var stopHint = $"{(Environment.UserName == "root" ? "runuser -u postgres -- " : "")}pg_ctl -D {server.DataDirectory} stop";
                output.Result(new
                {
                    Passed = passed,
                    ConnectionString = keepServer ? connection : null,
                    // With --keep: where the server lives, so a script can stop it (pg_ctl -D DIR stop) and remove it.
                    DataDirectory = keepServer ? server.DataDirectory : null,
                    Sections = sections,
                }, console =>
                {
                    console.WriteLine($"demo: {(passed ? "all checks passed" : "a check found problems")}");
                });
                if (keepServer)
                {
                    output.Info($"demo: server left running. Connection string: {connection}");
                    output.Info($"demo: try `partitionops backfill progress --provider postgresql --connection \"{connection}\"`; stop " +
                        $"it with `{stopHint}`");
                }
                return ExitCodes.ForCheck(passed);
            }
            finally
            {
                if (!keepServer)
                {
                    Npgsql.NpgsqlConnection.ClearAllPools();
                    await server.StopAsync().ConfigureAwait(false);
                    output.Info("demo: server stopped and removed");
                }
            }
        });
        return command;
    }
}
