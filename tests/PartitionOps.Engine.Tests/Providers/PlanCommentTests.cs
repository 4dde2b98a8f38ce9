using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Tests.Providers;

/// <summary>What a saved plan shows around a statement: its parameters on a comment line of their own, values readable.</summary>
public sealed class PlanCommentTests
{
    [Fact]
    public void Parameters_go_on_a_line_of_their_own_with_arrays_in_braces()
    {
        var statement = SqlStatement.Of("SELECT 1 WHERE x = ANY (@sources)",
            new SqlParameter("sources", new[] { "p_1", "it's" }), new SqlParameter("n", 1.5), new SqlParameter("none", null));
        var line = PlanComment.Parameters(statement);
        Assert.Equal("-- parameters: sources = {'p_1', 'it''s'}, n = 1.5, none = NULL", line);
        Assert.DoesNotContain('\n', line!);
        Assert.Null(PlanComment.Parameters(new SqlStatement("SELECT 1")));
    }

    [Fact]
    public void A_value_with_a_line_break_stays_inside_the_comment()
    {
        var line = PlanComment.Parameters(SqlStatement.Of("SELECT @a", new SqlParameter("a", "x\nDROP TABLE t;")))!;
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("-- parameters: a = 'x\\nDROP TABLE t;'", line, StringComparison.Ordinal);
    }
}
