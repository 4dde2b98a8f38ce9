using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Sample;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>A fresh FHIR-like database per test, and direct SQL to check what the engine did.</summary>
internal sealed class BackfillHarness
{
    private BackfillHarness(string connectionString, FhirSampleOptions options)
    {
        ConnectionString = connectionString;
        Options = options;
        Target = new DatabaseTarget(PostgreSqlProvider.Instance, connectionString);
    }

    public string ConnectionString { get; }
    public FhirSampleOptions Options { get; }
    public DatabaseTarget Target { get; }
    public BackfillScope Scope => new() { Target = Target };

    public static async Task<BackfillHarness> CreateAsync(PostgresFixture postgres, long rows = 20_000, int types = 20, bool partitioned = true)
    {
        var options = new FhirSampleOptions { Rows = rows, TypeCount = types, Partitioned = partitioned, PayloadBytes = 20 };
        var cs = await postgres.CreateDatabaseAsync("bf");
        await FhirSample.CreateAsync(cs, options);
        return new BackfillHarness(cs, options);
    }

    public BackfillRequest Request(int batchSize = 500) => new()
    {
        Scope = Scope,
        BatchSize = batchSize,
        Throttle = new ThrottleOptions { MaxBlockedSessions = null },
    };

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        return c;
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var c = await OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return (T)Convert.ChangeType((await cmd.ExecuteScalarAsync())!, typeof(T));
    }

    public Task ExecAsync(string sql) => ScalarOrNothing(sql);

    private async Task ScalarOrNothing(string sql)
    {
        await using var c = await OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private const string SystemList = "('SearchParameter','OperationDefinition','StructureDefinition','ValueSet','CodeSystem','CapabilityStatement','CompartmentDefinition')";

    /// <summary>Rows in the wrong partition, counted independently of the engine's SQL.</summary>
    public Task<long> MisplacedAsync() => ScalarAsync<long>($"""
        SELECT count(*) FROM "Resource" r JOIN "ResourceType" t ON t."ResourceTypeId" = r."ResourceTypeId"
        WHERE (t."Name" IN {SystemList} AND r."PartitionId" <> 1) OR (t."Name" NOT IN {SystemList} AND r."PartitionId" <> 2)
        """);

    public Task<long> SystemRowsAsync() => ScalarAsync<long>($"""
        SELECT count(*) FROM "Resource" r JOIN "ResourceType" t ON t."ResourceTypeId" = r."ResourceTypeId" WHERE t."Name" IN {SystemList}
        """);

    public Task<long> RowsAtAsync(int value) => ScalarAsync<long>($"""SELECT count(*) FROM "Resource" WHERE "PartitionId" = {value}""");

    public Task<long> TotalRowsAsync() => ScalarAsync<long>("""SELECT count(*) FROM "Resource" """);
}
