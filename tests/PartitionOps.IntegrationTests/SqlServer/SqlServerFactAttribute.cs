namespace PartitionOps.IntegrationTests.SqlServer;

/// <summary>
/// A test against a real SQL Server, named by the connection string in PARTITIONOPS_TEST_SQLSERVER.
/// Without it the runner reports the test as skipped, with the reason (DESIGN §7).
/// </summary>
public sealed class SqlServerFactAttribute : FactAttribute
{
    public const string Variable = "PARTITIONOPS_TEST_SQLSERVER";

    public SqlServerFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            Skip = "PARTITIONOPS_TEST_SQLSERVER not set: SQL Server tests skipped";
    }

    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable);
}
