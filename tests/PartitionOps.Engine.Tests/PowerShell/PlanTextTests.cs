using PartitionOps.Engine.Providers;
using PartitionOps.PowerShell.Infrastructure;

namespace PartitionOps.Engine.Tests.PowerShell;

public class PlanTextTests
{
    private static readonly IReadOnlyList<SqlStatement> Plan =
    [
        new SqlStatement("ALTER TABLE [dbo].[Resource] ADD [PartitionId] smallint NOT NULL DEFAULT 2;"),
        SqlStatement.Of("UPDATE [dbo].[Resource] SET [PartitionId] = 1 WHERE [ResourceTypeId] = @type AND [ResourceSurrogateId] > @from;",
            new SqlParameter("type", 103), new SqlParameter("from", 5_000_000_000L)),
    ];

    [Fact]
    public void WhatIf_text_says_what_will_happen_then_the_exact_sql_with_parameter_values()
    {
        var nl = Environment.NewLine;
        Assert.Equal(
            $"Performing the operation \"Backfill\" on target \"dbo.Resource\":{nl}" +
            $"  table: dbo.Resource{nl}" +
            $"2 SQL statements:{nl}" +
            $"ALTER TABLE [dbo].[Resource] ADD [PartitionId] smallint NOT NULL DEFAULT 2;{nl}{nl}" +
            $"UPDATE [dbo].[Resource] SET [PartitionId] = 1 WHERE [ResourceTypeId] = @type AND [ResourceSurrogateId] > @from;{nl}" +
            $"-- type = 103{nl}-- from = 5000000000",
            PlanText.Describe("dbo.Resource", "Backfill", Plan, ["table: dbo.Resource"]));
    }

    [Fact]
    public void Per_partition_repeats_are_counted_after_two_and_the_full_sql_keeps_them()
    {
        var plan = Enumerable.Range(1, 30).SelectMany(i => new[]
        {
            new SqlStatement($"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"IX_{i:x8}\" ON \"s\".\"Resource_{i}\" " +
                $"(\"ResourceTypeId\") WHERE \"PartitionId\" = 1"),
            new SqlStatement($"ALTER INDEX \"s\".\"IX\" ATTACH PARTITION \"s\".\"IX_{i:x8}\""),
        }).ToList();
        var text = PlanText.Describe("s.Resource", "Start backfill", plan, ["index: build IX (60 statements)"]);
        Assert.Equal(2, text.Split("CREATE UNIQUE INDEX").Length - 1);
        Assert.Equal(2, text.Split("ATTACH PARTITION").Length - 1);
        Assert.Contains("-- 56 more statements like the ones above (-Verbose prints them)", text);
        Assert.Contains("60 SQL statements; repeated ones are counted", text);
        Assert.True(text.IndexOf("index: build", StringComparison.Ordinal) < text.IndexOf("CREATE", StringComparison.Ordinal));
        Assert.True(PlanText.IsShortened(plan));
        Assert.Equal(30, PlanText.Sql(plan).Split("ATTACH PARTITION").Length - 1);
    }

    [Fact]
    public void Strings_are_quoted_and_null_is_NULL()
    {
        var text = PlanText.Sql([SqlStatement.Of("SELECT @a, @b", new SqlParameter("a", "O'Brien"), new SqlParameter("b", null))]);
        Assert.Contains("-- a = 'O''Brien'", text);
        Assert.Contains("-- b = NULL", text);
    }

    [Fact]
    public void Empty_plan_says_nothing_to_do() =>
        Assert.EndsWith("nothing to do.", PlanText.Describe("t", "Merge", []));

    [Fact]
    public void Confirm_question_shows_the_sql() =>
        Assert.Contains("ALTER TABLE", PlanText.ConfirmQuestion("dbo.Resource", "Backfill", Plan));
}

public sealed class PlanTextInjectionTests
{
    [Fact]
    public void A_parameter_value_stays_on_its_comment_line()
    {
        var statement = PartitionOps.Engine.Providers.SqlStatement.Of("UPDATE t SET a = 1 WHERE b = @b",
            new PartitionOps.Engine.Providers.SqlParameter("b", "v\nDROP TABLE public.sales; */ --\u2028x"));
        var text = PartitionOps.PowerShell.Infrastructure.PlanText.Sql(
            [statement, new PartitionOps.Engine.Providers.SqlStatement("SELECT 1")]);
        var lines = text.Split(Environment.NewLine);
        Assert.Equal(["UPDATE t SET a = 1 WHERE b = @b", "", "SELECT 1"], lines.Where(l => !l.StartsWith("-- ", StringComparison.Ordinal)));
        var note = Assert.Single(lines, l => l.StartsWith("-- ", StringComparison.Ordinal));
        Assert.Contains("v\\nDROP TABLE public.sales;", note);
        Assert.DoesNotContain("*/", note);
        Assert.DoesNotContain('\u2028', note);
    }
}
