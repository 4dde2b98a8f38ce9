using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.Engine.Providers.Oracle;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>How index findings become health alerts, and the PostgreSQL fixes' exact text (the checks run in integration tests).</summary>
public sealed class IndexVerificationTests
{
    private static readonly MergeStatistics NoMerges = new(0, 0, 0, null, null);

    [Fact]
    public void A_damaged_index_is_an_alert_naming_it_and_its_fix()
    {
        var fix = PostgreSqlIndexChecks.Instance.Repair("public", "p_2023_pkey");
        Assert.Equal("REINDEX INDEX CONCURRENTLY \"public\".\"p_2023_pkey\";", fix);
        var verification = new IndexVerification(null,
        [
            new IndexFinding("public", "p_2023_pkey", "p_2023", IndexFinding.Damaged,
                "has entries pointing to block 442 of p_2023, which has 5 block(s)", fix),
            new IndexFinding("public", "p_2023_11_pkey", "p_2023_11", IndexFinding.Ok),
        ]);
        var r = IlmHealth.Evaluate("sales", NoMerges, 0, null, indexes: verification);
        Assert.False(r.Passed);
        var alert = Assert.Single(r.Alerts, c => c.Name == "index public.p_2023_pkey");
        Assert.Contains("(partition p_2023) has entries pointing to block 442", alert.Message);
        Assert.EndsWith("Fix: REINDEX INDEX CONCURRENTLY \"public\".\"p_2023_pkey\";", alert.Message);
        Assert.Equal(1m, Assert.Single(r.Alerts, c => c.Name == "damaged indexes").Value);
        Assert.Same(verification, r.Indexes);
    }

    [Fact]
    public void Healthy_indexes_pass_and_verification_that_could_not_run_does_not()
    {
        var ok = IlmHealth.Evaluate("sales", NoMerges, 0, null,
            indexes: new IndexVerification(null, [new IndexFinding("public", "p_2023_pkey", "p_2023", IndexFinding.Ok)]));
        Assert.True(ok.Passed);
        Assert.Equal(0m, Assert.Single(ok.Checks, c => c.Name == "damaged indexes").Value);

        var cannot = IlmHealth.Evaluate("sales", NoMerges, 0, null, indexes: new IndexVerification("amcheck is not installed", []));
        Assert.False(cannot.Passed);
        Assert.Equal("amcheck is not installed", Assert.Single(cannot.Alerts).Message);

        // Not asked: no index checks at all.
        Assert.DoesNotContain(IlmHealth.Evaluate("sales", NoMerges, 0, null).Checks,
            c => c.Name.Contains("index", StringComparison.Ordinal));
    }

    [Fact]
    public void An_invalid_leftover_of_reindex_concurrently_is_dropped_other_invalid_indexes_rebuilt()
    {
        var checks = PostgreSqlIndexChecks.Instance;
        Assert.Equal("DROP INDEX CONCURRENTLY \"public\".\"p_2023_pkey_ccnew\";", checks.DropLeftover("public", "p_2023_pkey_ccnew"));
        Assert.Equal("DROP INDEX CONCURRENTLY \"public\".\"p_2023_pkey_ccnew2\";", checks.DropLeftover("public", "p_2023_pkey_ccnew2"));
        Assert.Null(checks.DropLeftover("public", "p_2023_pkey"));
        // Quoted as identifiers, whatever the name holds.
        Assert.Equal("REINDEX INDEX CONCURRENTLY \"My Schema\".\"a\"\"b\";", checks.Repair("My Schema", "a\"b"));
    }

    [Fact]
    public void The_checks_call_the_extensions_in_the_schema_they_are_installed_in()
    {
        var schemas = new Dictionary<string, string> { ["amcheck"] = "ext", ["pageinspect"] = "tools" };
        var structure = PostgreSqlIndexChecks.Instance.CheckStructure(schemas, "public", "p_2023_pkey");
        Assert.StartsWith("SELECT \"ext\".bt_index_check(", structure.Text);
        Assert.Equal(["public", "p_2023_pkey"], structure.Parameters.Select(p => p.Value));
        var reach = PostgreSqlIndexChecks.Instance.EntriesReach(schemas, "public", "p_2023_pkey").Text;
        Assert.Contains("\"tools\".bt_page_items(", reach);
        Assert.Contains("\"tools\".bt_page_stats(", reach);
    }

    [Fact]
    public void Oracle_has_no_index_verification()
    {
        // ANALYZE INDEX ... VALIDATE STRUCTURE blocks DML by default: left out (OracleIlmDialect says why).
        Assert.Null(((PartitionOps.Engine.Ilm.IIlmDialect)OracleIlmDialect.Instance).IndexChecks);
        Assert.NotNull(((PartitionOps.Engine.Ilm.IIlmDialect)PostgreSqlIlmDialect.Instance).IndexChecks);
    }
}
