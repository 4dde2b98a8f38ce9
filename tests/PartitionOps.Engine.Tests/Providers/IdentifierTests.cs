using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Providers;

public sealed class IdentifierTests
{
    [Theory]
    [InlineData("Resource")]
    [InlineData("_x1")]
    [InlineData("dwh_ilm_config")]
    [InlineData("P_2023_11")]
    public void Plain_names_pass(string name) => Assert.Equal(name, Identifier.Validate(name, "--table"));

    [Theory]
    [InlineData("a b")]
    [InlineData("1abc")]
    [InlineData("x\"; DROP TABLE t; --")]
    [InlineData("x]")]
    [InlineData("")]
    [InlineData("schema.table")]
    public void Anything_else_is_refused_with_the_option_and_the_value(string name)
    {
        var e = Assert.Throws<InvalidRequestException>(() => Identifier.Validate(name, "--table"));
        Assert.StartsWith("--table '" + name + "'", e.Message);
        Assert.Equal("--table", e.Parameter);
    }

    [Fact]
    public void Names_longer_than_128_are_refused() =>
        Assert.Throws<InvalidRequestException>(() => Identifier.Validate(new string('a', 129), "--table"));

    [Fact]
    public void Each_dialect_quotes_and_doubles_its_closing_quote()
    {
        Assert.Equal("\"Resource\"", PostgreSqlProvider.Instance.Quote("Resource"));
        Assert.Equal("\"a\"\"b\"", PostgreSqlProvider.Instance.Quote("a\"b"));
        Assert.Equal("[Resource]", SqlServerProvider.Instance.Quote("Resource"));
        Assert.Equal("[a]]b]", SqlServerProvider.Instance.Quote("a]b"));
    }

    [Theory]
    [InlineData("Host=h;Username=u;Password=secret;Database=d", "secret")]
    [InlineData("Server=s;User ID=u;Pwd=secret;", "secret")]
    public void Redaction_hides_passwords(string cs, string secret)
    {
        var redacted = ConnectionStrings.Redact(cs);
        Assert.DoesNotContain(secret, redacted);
        Assert.Contains("***", redacted);
    }

    [Fact]
    public void Unknown_providers_and_bad_connection_strings_are_named()
    {
        var e = Assert.Throws<InvalidRequestException>(() => ProviderRegistry.Get("db2"));
        Assert.Contains("'db2'", e.Message);
        var bad = Assert.Throws<InvalidRequestException>(() => new DatabaseTarget(PostgreSqlProvider.Instance, "Hots=x;Password=pw1"));
        Assert.DoesNotContain("pw1", bad.Message);
    }
}
