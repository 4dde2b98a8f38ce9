namespace PartitionOps.Engine.Tests.Backfill;

public sealed class InvalidRequestExceptionTests
{
    [Fact]
    public void Parameter_value_and_problem_are_kept_apart_and_make_the_message()
    {
        var e = new InvalidRequestException("--batch-size", -5, "must be a positive number of rows");
        Assert.Equal("--batch-size", e.Parameter);
        Assert.Equal(-5, e.Value);
        Assert.Equal("must be a positive number of rows", e.Problem);
        Assert.Equal("--batch-size '-5' must be a positive number of rows", e.Message);
    }
}
