using System.ComponentModel;
using System.Management.Automation;
using System.Reflection;
using Microsoft.Data.SqlClient;
using Npgsql;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// Every key each driver reads as a password, taken from the driver itself (Npgsql's property attributes; SqlClient's
/// documented PWD), in every spelling a user types: never in a redacted string, an error message or an ErrorRecord.
/// </summary>
public sealed class SecretAliasTests
{
    private const string Secret = "Zq9_alias_secret_4411";

    /// <summary>Npgsql's keys for Password and SslPassword, with every synonym its builder declares (PSW, PWD...).</summary>
    public static IReadOnlyList<string> NpgsqlSecretKeys()
    {
        var keys = new List<string>();
        foreach (var property in typeof(NpgsqlConnectionStringBuilder).GetProperties())
        {
            if (property.Name is not ("Password" or "SslPassword")) continue;
            keys.Add(property.GetCustomAttribute<DisplayNameAttribute>()?.DisplayName ?? property.Name);
            keys.Add(property.Name);
            var attribute = property.GetCustomAttributes()
                .FirstOrDefault(a => a.GetType().Name == "NpgsqlConnectionStringPropertyAttribute");
            if (attribute?.GetType().GetProperty("Synonyms")?.GetValue(attribute) is string[] synonyms) keys.AddRange(synonyms);
        }
        return keys.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>SqlClient's Password and its synonym PWD
    /// (learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring).</summary>
    public static readonly IReadOnlyList<string> SqlClientSecretKeys = ["Password", "PWD"];

    /// <summary>Each key as typed: as declared, lower case, upper case, with spaces around it.</summary>
    private static IEnumerable<string> Spellings(string key) =>
        new[] { key, key.ToLowerInvariant(), key.ToUpperInvariant(), $" {key} " }.Distinct();

    public static TheoryData<string, string> Aliases()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in NpgsqlSecretKeys()) foreach (var spelling in Spellings(key)) data.Add("postgresql", spelling);
        foreach (var key in SqlClientSecretKeys) foreach (var spelling in Spellings(key)) data.Add("sqlserver", spelling);
        return data;
    }

    [Fact]
    public void The_driver_declares_the_aliases_we_test()
    {
        // The leak: PSW is Npgsql's alias of Password. Reading the keys from the driver keeps the test honest.
        Assert.Contains("PSW", NpgsqlSecretKeys(), StringComparer.OrdinalIgnoreCase);
        Assert.Contains("PWD", NpgsqlSecretKeys(), StringComparer.OrdinalIgnoreCase);
        Assert.Contains("SSL Password", NpgsqlSecretKeys(), StringComparer.OrdinalIgnoreCase);
        foreach (var key in NpgsqlSecretKeys())
            Assert.Equal("x", new NpgsqlConnectionStringBuilder($"{key}=x") is var b
                && key.Contains("Ssl", StringComparison.OrdinalIgnoreCase) ? b.SslPassword : b.Password);
        foreach (var key in SqlClientSecretKeys) Assert.Equal("x", new SqlConnectionStringBuilder($"{key}=x").Password);
    }

    [Theory]
    [MemberData(nameof(Aliases))]
    public void Every_alias_is_redacted_in_valid_and_malformed_strings_and_their_errors(string provider, string key)
    {
        var p = ProviderRegistry.Get(provider);
        var valid = provider == "postgresql" ? $"Host=pg01;Database=fhir;{key}={Secret}" : $"Server=sql01;Database=fhir;{key}={Secret}";
        var malformed = provider == "postgresql" ? $"Host=pg01;Port=abc;{key}={Secret}" : $"Server=sql01;Connect " +
            $"Timeout=abc;{key}={Secret}";

        Assert.DoesNotContain(Secret, ConnectionStrings.Redact(valid, p));
        Assert.DoesNotContain(Secret, ConnectionStrings.Redact(valid));
        Assert.DoesNotContain(Secret, new DatabaseTarget(p, valid).DisplayName);
        Assert.DoesNotContain(Secret, new DatabaseTarget(p, valid).ToString());
        Assert.Contains(Secret, ConnectionStrings.SecretValues(valid));

        var e = Assert.Throws<InvalidRequestException>(() => new DatabaseTarget(p, malformed));
        Assert.DoesNotContain(Secret, e.Message);
        Assert.DoesNotContain(Secret, e.Value?.ToString() ?? "");
        Assert.Contains("abc", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [MemberData(nameof(Aliases))]
    public void Every_alias_stays_out_of_the_ErrorRecord(string provider, string key)
    {
        var malformed = provider == "postgresql" ? $"Host=pg01;Port=abc;{key}={Secret}" : $"Server=sql01;Connect " +
            $"Timeout=abc;{key}={Secret}";
        var cmdlet = new ProbeCmdlet { ConnectionString = malformed, Provider = provider };
        var e = Assert.ThrowsAny<Exception>(() => cmdlet.Resolve());
        Assert.NotNull(cmdlet.Record(e, malformed));
        Assert.Equal(ErrorCategory.InvalidArgument, ErrorMapping.Classify(e).Category);
        foreach (var text in RecordTexts(cmdlet, e, malformed)) Assert.DoesNotContain(Secret, text);
    }

    [Fact]
    public async Task A_connection_failure_keeps_every_alias_out_of_the_message()
    {
        foreach (var key in NpgsqlSecretKeys())
        {
            // Nothing listens on port 1: the driver's own failure, with the alias in the string it was given.
            var target = new DatabaseTarget(PostgreSqlProvider.Instance,
                $"Host=127.0.0.1;Port=1;Timeout=2;Database=none;Username=u;{key}={Secret}");
            var e = await Assert.ThrowsAsync<ConnectionFailedException>(() => target.OpenAsync(CancellationToken.None));
            Assert.DoesNotContain(Secret, e.Message);
            var cmdlet = new ProbeCmdlet { ConnectionString = target.ConnectionString, Provider = "postgresql" };
            foreach (var text in RecordTexts(cmdlet, e, target.ConnectionString)) Assert.DoesNotContain(Secret, text);
        }
        Assert.True(SqlServerProvider.Instance.IsSecretKey("pwd"));
    }

    /// <summary>
    /// What CreateErrorRecord puts into the ErrorRecord (its exception, whole with inner ones, and the target object), built
    /// the same way: the PowerShell reference assembly the tests compile against does not let a record be read back.
    /// </summary>
    private static IEnumerable<string> RecordTexts(ProbeCmdlet cmdlet, Exception e, string target)
    {
        var safe = ErrorMapping.Sanitize(e, cmdlet.SecretList);
        return [safe.Message, safe.ToString(), cmdlet.ScrubText(target)];
    }
}
