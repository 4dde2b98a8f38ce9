using Npgsql;

namespace PartitionOps.IntegrationTests.Infrastructure;

[Collection(PostgresCollection.Name)]
public sealed class ThrowawayPostgresTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Each_test_database_is_a_real_empty_postgres_15_or_newer()
    {
        var cs = await postgres.CreateDatabaseAsync();
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync();
        await using var version = new NpgsqlCommand("SELECT current_setting('server_version_num')::int", connection);
        Assert.True((int)(await version.ExecuteScalarAsync())! >= 150000);
        await using var tables = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", connection);
        Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync())!);
    }
}
