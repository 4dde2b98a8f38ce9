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
    public void WhatIf_text_is_the_exact_sql_with_parameter_values()
    {
        var nl = Environment.NewLine;
        Assert.Equal(
            $"Performing the operation \"Backfill\" on target \"dbo.Resource\" with this SQL:{nl}" +
            $"ALTER TABLE [dbo].[Resource] ADD [PartitionId] smallint NOT NULL DEFAULT 2;{nl}{nl}" +
            $"UPDATE [dbo].[Resource] SET [PartitionId] = 1 WHERE [ResourceTypeId] = @type AND [ResourceSurrogateId] > @from;{nl}" +
            $"-- type = 103{nl}-- from = 5000000000",
            PlanText.Describe("dbo.Resource", "Backfill", Plan));
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
        var text = PartitionOps.PowerShell.Infrastructure.PlanText.Sql([statement, new PartitionOps.Engine.Providers.SqlStatement("SELECT 1")]);
        var lines = text.Split(Environment.NewLine);
        Assert.Equal(["UPDATE t SET a = 1 WHERE b = @b", "", "SELECT 1"], lines.Where(l => !l.StartsWith("-- ", StringComparison.Ordinal)));
        var note = Assert.Single(lines, l => l.StartsWith("-- ", StringComparison.Ordinal));
        Assert.Contains("v\\nDROP TABLE public.sales;", note);
        Assert.DoesNotContain("*/", note);
        Assert.DoesNotContain('\u2028', note);
    }
}
