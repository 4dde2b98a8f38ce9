using System.Data.Common;
using System.Security;
using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>Each connection parameter set mapped to provider + connection string, without a host.</summary>
public class ConnectionMappingTests
{
    internal static SecureString Secure(string text)
    {
        var s = new SecureString();
        foreach (var c in text) s.AppendChar(c);
        s.MakeReadOnly();
        return s;
    }

    private static DbConnectionStringBuilder Parse(string cs) => new() { ConnectionString = cs };

    [Fact]
    public void ConnectionString_with_provider_is_passed_on_verbatim()
    {
        const string cs = "Host=pg01;Port=5433;Database=fhir;Username=po;Password=pw";
        var c = ConnectionMapping.ToConnection(new ConnectionRequest { ConnectionString = cs, Provider = "postgresql" });
        Assert.Equal("postgresql", c.Provider);
        Assert.Equal(cs, c.Target.ConnectionString);
        Assert.Equal("pg01", c.Server);
        Assert.Equal("fhir", c.Database);
        Assert.Equal("Password", c.Authentication);
    }

    [Fact]
    public void ConnectionString_defaults_to_sqlserver()
    {
        var c = ConnectionMapping.ToConnection(
            new ConnectionRequest { ConnectionString = "Server=sql01;Database=fhir;Integrated Security=true" });
        Assert.Equal("sqlserver", c.Provider);
        Assert.Equal("Integrated", c.Authentication);
    }

    [Fact]
    public void Managed_identity_connection_string_works()
    {
        var c = ConnectionMapping.ToConnection(new ConnectionRequest
        {
            ConnectionString = "Server=tcp:srv.database.windows.net;Database=fhir;Authentication=Active Directory Managed Identity",
            Provider = "sqlserver",
        });
        Assert.Equal("Active Directory Managed Identity", c.Authentication);
        Assert.Equal("tcp:srv.database.windows.net", c.Server);
    }

    // Microsoft Entra ID sign-in as README documents it. SqlClient must parse the keyword and have a provider
    // registered for it: 2.1 refused "Active Directory Default", and from 7.0 the providers live in the separate
    // Microsoft.Data.SqlClient.Extensions.Azure package, without which GetProvider returns null and the first
    // Open fails with "Cannot find an authentication provider".
    // https://learn.microsoft.com/sql/connect/ado-net/sql/azure-active-directory-authentication
    [Theory]
    [InlineData("Active Directory Default", Microsoft.Data.SqlClient.SqlAuthenticationMethod.ActiveDirectoryDefault)]
    [InlineData("Active Directory Managed Identity", Microsoft.Data.SqlClient.SqlAuthenticationMethod.ActiveDirectoryManagedIdentity)]
    [InlineData("Active Directory MSI", Microsoft.Data.SqlClient.SqlAuthenticationMethod.ActiveDirectoryMSI)]
    [InlineData("Active Directory Workload Identity", Microsoft.Data.SqlClient.SqlAuthenticationMethod.ActiveDirectoryWorkloadIdentity)]
    [InlineData("Active Directory Interactive", Microsoft.Data.SqlClient.SqlAuthenticationMethod.ActiveDirectoryInteractive)]
    public void Entra_ID_sign_in_is_accepted_and_has_a_provider(string keyword, Microsoft.Data.SqlClient.SqlAuthenticationMethod method)
    {
        var c = ConnectionMapping.ToConnection(new ConnectionRequest
        {
            ConnectionString = $"Server=tcp:srv.database.windows.net;Database=fhir;Authentication={keyword}",
            Provider = "sqlserver",
        });
        Assert.Equal(keyword, c.Authentication);
        using var connection = c.Target.CreateConnection();
        var sql = Assert.IsType<Microsoft.Data.SqlClient.SqlConnection>(connection);
        Assert.Equal(method, new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(sql.ConnectionString).Authentication);
        Assert.NotNull(Microsoft.Data.SqlClient.SqlAuthenticationProvider.GetProvider(method));
    }

    [Fact]
    public void SqlInstance_without_credential_uses_integrated_security_on_sqlserver()
    {
        var (cs, provider, auth) = ConnectionMapping.BuildConnectionString(
            new ConnectionRequest { SqlInstance = @"sql01\prod,1433", Database = "fhir" });
        var b = Parse(cs);
        Assert.Equal("sqlserver", provider.Name);
        Assert.Equal(@"sql01\prod,1433", b["Data Source"]);
        Assert.Equal("fhir", b["Initial Catalog"]);
        Assert.Equal("True", b["Integrated Security"].ToString(), ignoreCase: true);
        Assert.Equal("Integrated", auth);
    }

    [Fact]
    public void SqlInstance_with_credential_uses_sql_authentication()
    {
        var (cs, _, auth) = ConnectionMapping.BuildConnectionString(new ConnectionRequest
        {
            SqlInstance = "sql01", Database = "fhir", UserName = "po", Password = Secure("p;w='x"),
        });
        var b = Parse(cs);
        Assert.Equal("po", b["User ID"]);
        Assert.Equal("p;w='x", b["Password"]); // quoted properly, not split at ';'
        Assert.False(b.ContainsKey("Integrated Security"));
        Assert.Equal("Password", auth);
        // And the engine's SqlClient accepts it.
        Assert.Equal("sqlserver", ConnectionMapping.ToTarget(
            new ConnectionRequest { SqlInstance = "sql01", UserName = "po", Password = Secure("p;w='x") }).Provider.Name);
    }

    [Theory]
    [InlineData("pg01", "pg01", null)]
    [InlineData("pg01:5433", "pg01", "5433")]
    [InlineData("pg01,5433", "pg01", "5433")]
    [InlineData("[::1]:5433", "::1", "5433")]
    [InlineData("::1", "::1", null)]
    public void SqlInstance_maps_to_postgresql_host_and_port(string instance, string host, string? port)
    {
        var (cs, provider, _) = ConnectionMapping.BuildConnectionString(new ConnectionRequest
        {
            SqlInstance = instance, Database = "fhir", Provider = "postgresql", UserName = "po", Password = Secure("pw"),
        });
        var b = Parse(cs);
        Assert.Equal("postgresql", provider.Name);
        Assert.Equal(host, b["Host"]);
        Assert.Equal(port, b.TryGetValue("Port", out var p) ? p.ToString() : null);
        Assert.Equal("fhir", b["Database"]);
        Assert.Equal("po", b["Username"]);
        Assert.Equal("pw", b["Password"]);
        Assert.False(b.ContainsKey("Integrated Security"));
        ConnectionMapping.ToTarget(new ConnectionRequest { SqlInstance = instance, Provider = "postgresql" });
    }

    [Fact]
    public void AccessToken_on_sqlserver_goes_to_the_connection_not_the_string()
    {
        var c = ConnectionMapping.ToConnection(
            new ConnectionRequest { SqlInstance = "srv.database.windows.net", Database = "fhir", AccessToken = Secure("eyJtoken") });
        Assert.Equal("AccessToken", c.Authentication);
        Assert.DoesNotContain("eyJtoken", c.Target.ConnectionString);
        Assert.DoesNotContain("Integrated Security", c.Target.ConnectionString, StringComparison.OrdinalIgnoreCase);
        using var connection = c.Target.CreateConnection();
        Assert.Equal("eyJtoken", connection.GetType().GetProperty("AccessToken")!.GetValue(connection));
    }

    [Fact]
    public void AccessToken_on_postgresql_is_the_password_of_the_credential_user()
    {
        var c = ConnectionMapping.ToConnection(new ConnectionRequest
        {
            SqlInstance = "pg.postgres.database.azure.com", Database = "fhir", Provider = "postgresql",
            UserName = "po@contoso.com", Password = new SecureString(), AccessToken = Secure("eyJtoken"),
        });
        using var connection = c.Target.CreateConnection();
        var b = Parse(connection.ConnectionString);
        Assert.Equal("po@contoso.com", b["Username"]);
    }

    [Fact]
    public void AccessToken_and_credential_conflict_on_sqlserver()
    {
        var e = Assert.Throws<InvalidRequestException>(() => ConnectionMapping.ToConnection(new ConnectionRequest
        {
            SqlInstance = "sql01", UserName = "po", Password = Secure("pw"), AccessToken = Secure("eyJtoken"),
        }));
        Assert.Equal("-AccessToken", e.Parameter);
        Assert.DoesNotContain("eyJtoken", e.Message);
    }

    [Fact]
    public void Entra_user_on_Azure_SQL_uses_Active_Directory_Password()
    {
        var (cs, _, auth) = ConnectionMapping.BuildConnectionString(new ConnectionRequest
        {
            SqlInstance = "tcp:srv.database.windows.net,1433", Database = "fhir", UserName = "dba@contoso.com", Password = Secure("pw"),
        });
        Assert.Equal("Active Directory Password", Parse(cs)["Authentication"]);
        Assert.Equal("Active Directory Password", auth);
        // On-premises, a login with @ in its name stays a SQL login.
        var (onPrem, _, _) = ConnectionMapping.BuildConnectionString(
            new ConnectionRequest { SqlInstance = "sql01", UserName = "odd@name", Password = Secure("pw") });
        Assert.False(Parse(onPrem).ContainsKey("Authentication"));
        ConnectionMapping.ToTarget(new ConnectionRequest { SqlInstance = "srv.database.windows.net", UserName = "dba@contoso.com",
            Password = Secure("pw") });
    }

    [Theory]
    [InlineData("Server=srv;Integrated Security=true")]
    [InlineData("Server=srv;User ID=po;Password=pw")]
    [InlineData("Server=srv;Authentication=Active Directory Managed Identity")]
    public void AccessToken_conflicts_with_other_sign_in_keys_on_sqlserver(string cs)
    {
        var e = Assert.Throws<InvalidRequestException>(() =>
            ConnectionMapping.ToConnection(new ConnectionRequest { ConnectionString = cs, AccessToken = Secure("eyJtoken") }));
        Assert.Equal("-AccessToken", e.Parameter);
    }

    [Fact]
    public void Credential_is_added_to_a_connection_string()
    {
        var (cs, _, _) = ConnectionMapping.BuildConnectionString(new ConnectionRequest
        {
            ConnectionString = "Host=pg01;Database=fhir", Provider = "postgresql", UserName = "po", Password = Secure("pw"),
        });
        Assert.Equal("po", Parse(cs)["Username"]);
        Assert.Equal("pw", Parse(cs)["Password"]);
    }

    [Fact]
    public void Oracle_instance_and_database_make_an_ezconnect_data_source()
    {
        // No Oracle driver here: the mapping is checked on the string; the provider is registered at run time.
        ProviderRegistry.Register("oracle-test", () => new FakeOracle());
        var (cs, _, _) = ConnectionMapping.BuildConnectionString(
            new ConnectionRequest { SqlInstance = "ora01:1521", Database = "DWH", Provider = "oracle-test", UserName = "ilm",
            Password = Secure("pw") });
        var b = Parse(cs);
        Assert.Equal("ora01:1521/DWH", b["Data Source"]);
        Assert.Equal("ilm", b["User Id"]);
    }

    [Fact]
    public void Connection_object_is_used_as_is()
    {
        var existing = ConnectionMapping.ToConnection(new ConnectionRequest { SqlInstance = "sql01" });
        Assert.Same(existing, ConnectionMapping.ToConnection(new ConnectionRequest { Connection = existing }));
        Assert.Same(existing, existing.Connection);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("Server=x", "sql01")]
    public void Needs_exactly_one_source(string? connectionString, string? instance)
    {
        var e = Assert.Throws<InvalidRequestException>(() =>
            ConnectionMapping.ToConnection(new ConnectionRequest { ConnectionString = connectionString, SqlInstance = instance }));
        Assert.Equal("-SqlInstance", e.Parameter);
    }

    [Fact]
    public void Unknown_provider_is_invalid_input()
    {
        Assert.Throws<InvalidRequestException>(() =>
            ConnectionMapping.ToConnection(new ConnectionRequest { SqlInstance = "x", Provider = "db2" }));
    }

    [Fact]
    public void Malformed_connection_string_is_invalid_input()
    {
        Assert.Throws<InvalidRequestException>(() =>
            ConnectionMapping.ToConnection(
            new ConnectionRequest { ConnectionString = "Server=x;Bogus Keyword=1;Password=S3cret", Provider = "sqlserver" }));
        Assert.Throws<InvalidRequestException>(() =>
            ConnectionMapping.ToConnection(new ConnectionRequest { ConnectionString = "=;=", Provider = "sqlserver" }));
    }

    private sealed class FakeOracle : IDatabaseProvider
    {
        public DatabaseKind Kind => DatabaseKind.Oracle;
        public string Name => "oracle";
        public string DefaultSchema => "";
        public string DefaultControlSchema => "";
        public IErrorClassifier Errors => throw new NotSupportedException();
        public string Quote(string identifier) => identifier;
        public string ParameterMarker(string name) => ":" + name;
        public DbConnection CreateConnection(string connectionString, string? accessToken = null) => throw new NotSupportedException();
        public PartitionOps.Engine.Backfill.IBackfillDialect? Backfill => null;
        public PartitionOps.Engine.Ilm.IIlmDialect? Ilm => null;
    }
}
