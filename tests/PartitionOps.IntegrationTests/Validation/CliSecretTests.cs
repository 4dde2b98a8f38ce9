using Npgsql;
using System.ComponentModel;
using System.Reflection;
using PartitionOps.IntegrationTests.Backfill;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Validation;

/// <summary>
/// A password under every alias the driver knows, through the command line against the real PostgreSQL: a database
/// that does not exist (the server's own error), a malformed string (Port=abc), and a run that works; stdout, stderr and
/// the --json document never hold it. SQL Server: malformed and unreachable strings, both of its keys.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CliSecretTests(PostgresFixture postgres)
{
    private const string Secret = "Kx7_cli_secret_2093";

    /// <summary>Npgsql's keys for Password and SslPassword with every synonym its builder declares (PSW, PWD...).</summary>
    private static IReadOnlyList<string> NpgsqlSecretKeys()
    {
        var keys = new List<string>();
        foreach (var property in typeof(NpgsqlConnectionStringBuilder).GetProperties().Where(p => p.Name is "Password" or "SslPassword"))
        {
            keys.Add(property.GetCustomAttribute<DisplayNameAttribute>()?.DisplayName ?? property.Name);
            var attribute = property.GetCustomAttributes()
                .FirstOrDefault(a => a.GetType().Name == "NpgsqlConnectionStringPropertyAttribute");
            if (attribute?.GetType().GetProperty("Synonyms")?.GetValue(attribute) is string[] synonyms) keys.AddRange(synonyms);
        }
        Assert.Contains("PSW", keys, StringComparer.OrdinalIgnoreCase);
        return keys.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>SqlClient's Password and its documented synonym PWD.</summary>
    private static readonly string[] SqlClientSecretKeys = ["Password", "PWD"];

    private static IEnumerable<string> Spellings(string key) => [key, key.ToLowerInvariant(), $" {key} "];

    [Fact]
    public async Task No_alias_of_a_password_reaches_any_output_channel()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 1_000, types: 8);
        var failures = new List<string>();
        var runs = 0;

        async Task Check(string what, int expectedExit, params string[] args)
        {
            foreach (var json in new[] { false, true })
            {
                runs++;
                var run = await CliRun.RunAsync(json ? [.. args, "--json"] : args);
                if (run.ExitCode != expectedExit) failures.Add($"{what}: exit {run.ExitCode}, expected {expectedExit}\n{run}");
                if (run.Stdout.Contains(Secret, StringComparison.Ordinal) || run.Stderr.Contains(Secret, StringComparison.Ordinal))
                    failures.Add($"{what}{(json ? " --json" : "")}: the password was written\n{run}");
            }
        }

        foreach (var key in NpgsqlSecretKeys().SelectMany(Spellings))
        {
            var missing = new NpgsqlConnectionStringBuilder(
                db.ConnectionString) { Database = "no_such_database_x" }.ConnectionString + $";{key}={Secret}";
            await Check($"postgresql missing database, {key}", 1, "backfill", "progress", "--provider", "postgresql", "--connection",
                missing);
            await Check($"postgresql missing database, ilm, {key}", 1, "ilm", "history", "--provider", "postgresql", "--connection",
                missing);
            await Check($"postgresql Port=abc, {key}", 2, "backfill", "progress", "--provider", "postgresql", "--connection",
                $"Host=localhost;Port=abc;{key}={Secret}");
            await Check($"postgresql bad option after a good string, {key}", 2, "backfill", "start", "--provider", "postgresql",
                "--connection", db.ConnectionString + $";{key}={Secret}", "--batch-size", "-1");
            // The environment variable is a channel in too.
            Environment.SetEnvironmentVariable("PARTITIONOPS_CONNECTION", $"Host=localhost;Port=abc;{key}={Secret}");
            try { await Check($"postgresql env Port=abc, {key}", 2, "backfill", "progress", "--provider", "postgresql"); }
            finally { Environment.SetEnvironmentVariable("PARTITIONOPS_CONNECTION", null); }
        }
        foreach (var key in SqlClientSecretKeys.SelectMany(Spellings))
        {
            await Check($"sqlserver Connect Timeout=abc, {key}", 2, "backfill", "progress", "--provider", "sqlserver",
                "--connection", $"Server=localhost;Connect Timeout=abc;{key}={Secret}");
            await Check($"sqlserver unreachable, {key}", 1, "backfill", "progress", "--provider", "sqlserver",
                "--connection", $"Server=tcp:127.0.0.1,1;Connect Timeout=1;Encrypt=false;User ID=u;{key}={Secret}");
        }
        // A run that works (trust auth ignores the password) writes the connection nowhere either.
        await Check("postgresql working run", 0, "backfill", "progress", "--provider", "postgresql", "--connection",
            db.ConnectionString + $";PSW={Secret}");

        Assert.True(runs > 50, $"only {runs} runs");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(10)));
    }
}
