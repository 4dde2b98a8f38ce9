using System.Reflection;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;
using static PartitionOps.Engine.Tests.PowerShell.ConnectionMappingTests;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>No password or access token reaches ToString, display properties or error messages.</summary>
public class SecretTests
{
    private const string Password = "Pw_7f3c9a_Secret";
    private const string Token = "eyJ0eXAi.TokenBody7f3c.Signature";

    public static TheoryData<string> Requests() =>
        new() { "sql-credential", "sql-connection-string", "pg-credential", "pg-connection-string", "sql-token", "pg-token" };

    private static ConnectionRequest Request(string kind) => kind switch
    {
        "sql-credential" => new() { SqlInstance = "sql01", Database = "fhir", UserName = "po", Password = Secure(Password) },
        "sql-connection-string" => new() { ConnectionString = $"Server=sql01;Database=fhir;User ID=po;Password={Password}",
            Provider = "sqlserver" },
        "pg-credential" => new() { SqlInstance = "pg01", Database = "fhir", Provider = "postgresql", UserName = "po",
            Password = Secure(Password) },
        "pg-connection-string" => new() { ConnectionString = $"Host=pg01;Database=fhir;Username=po;Password={Password}",
            Provider = "postgresql" },
        "sql-token" => new() { SqlInstance = "sql01", Database = "fhir", AccessToken = Secure(Token) },
        "pg-token" => new() { SqlInstance = "pg01", Database = "fhir", Provider = "postgresql", UserName = "po", Password = new(),
            AccessToken = Secure(Token) },
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Connection_object_never_shows_a_secret(string kind)
    {
        var request = Request(kind);
        var connection = ConnectionMapping.ToConnection(request);
        var shown = new List<string?> { connection.ToString(), connection.Target.ToString(), connection.Target.DisplayName,
            request.ToString() };
        shown.AddRange(typeof(PartitionOpsConnection).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.GetValue(connection)?.ToString()));
        foreach (var text in shown)
        {
            Assert.DoesNotContain(Password, text ?? "");
            Assert.DoesNotContain(Token, text ?? "");
        }
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public void Connection_remembers_its_secrets_for_scrubbing(string kind)
    {
        var connection = ConnectionMapping.ToConnection(Request(kind));
        Assert.NotEmpty(connection.Secrets);
        Assert.All(connection.Secrets, s => Assert.True(s == Password || s == Token));
    }

    [Theory]
    [InlineData("sqlserver", "Server=sql01;Password=Pw_7f3c9a_Secret;Nonsense Key=1")]
    [InlineData("postgresql", "Host=pg01;Password=Pw_7f3c9a_Secret;Nonsense Key=1")]
    [InlineData("sqlserver", "Server=sql01;Password=Pw_7f3c9a_Secret;Connect Timeout=abc")]
    public void Invalid_connection_strings_are_reported_without_the_password(string provider, string cs)
    {
        var e = Assert.Throws<InvalidRequestException>(() =>
            ConnectionMapping.ToConnection(new ConnectionRequest { ConnectionString = cs, Provider = provider }));
        Assert.DoesNotContain(Password, e.Message);
        Assert.DoesNotContain(Password, e.Value?.ToString() ?? "");
    }

    /// <summary>
    /// What cmdlets output is shown, exported to JSON/CSV and logged by runbooks: no public property of an
    /// output type (or of the objects it exposes) may carry a connection string, password or token.
    /// DatabaseTarget.ConnectionString holds the password, so output types must not expose a DatabaseTarget.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Output_types_expose_no_secret_bearing_property(string name)
    {
        var forbiddenNames = new[] { "ConnectionString", "Password", "AccessToken", "Token", "Secret" };
        var seen = new HashSet<Type>();
        var queue = new Queue<(Type Type, string Path)>(ModuleFacts.Cmdlet(name).OutputTypes.Select(t => (t, t.Name)));
        while (queue.Count > 0)
        {
            var (type, path) = queue.Dequeue();
            // Look inside collections and nullables: IReadOnlyList<MergeAction>, MergeAction[], Foo?.
            if (type.HasElementType) queue.Enqueue((type.GetElementType()!, path + "[]"));
            foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : [])
                queue.Enqueue((argument, $"{path}<{argument.Name}>"));
            if (!seen.Add(type) || type.IsPrimitive || type == typeof(string)
                || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true) continue;
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var where = $"{path}.{property.Name}";
                Assert.False(forbiddenNames.Contains(property.Name, StringComparer.OrdinalIgnoreCase),
                    $"{name} outputs {where}, which may carry a secret");
                Assert.False(property.PropertyType == typeof(DatabaseTarget),
                    $"{name} outputs {where}: a DatabaseTarget exposes its connection string; output a PartitionOpsConnection or " +
                    $"DisplayName");
                queue.Enqueue((property.PropertyType, where));
            }
        }
    }

    [Fact]
    public void Plan_text_and_verbose_text_are_scrubbed()
    {
        var cmdlet = new ProbeCmdlet { ConnectionString = $"Host=pg01;Password={Password}", Provider = "postgresql" };
        Assert.DoesNotContain(Password, cmdlet.ScrubText($"Connected to Host=pg01;Password={Password}"));
    }
}
