using Npgsql;
using PartitionOps.Demo;

namespace PartitionOps.IntegrationTests.Infrastructure;

/// <summary>
/// One PostgreSQL per test run: PARTITIONOPS_TEST_POSTGRES when set, otherwise a throwaway cluster
/// started here. Each test asks for its own database so tests never see each other's tables.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private ThrowawayPostgres? _cluster;
    private string _adminConnectionString = "";

    public ThrowawayPostgres? Cluster => _cluster;

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("PARTITIONOPS_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(external))
        {
            _adminConnectionString = external;
            return;
        }
        _cluster = await ThrowawayPostgres.StartAsync();
        _adminConnectionString = _cluster.ConnectionString();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_cluster != null) await _cluster.DisposeAsync();
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)].ToLowerInvariant();
        await using (var admin = new NpgsqlConnection(_adminConnectionString))
        {
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = name }.ConnectionString;
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
