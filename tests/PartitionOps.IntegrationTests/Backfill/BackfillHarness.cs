using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Demo;
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

    public static async Task<BackfillHarness> CreateAsync(PostgresFixture postgres, long rows = 20_000, int types = 20,
        bool partitioned = true) =>
        await CreateOnAsync(await postgres.CreateDatabaseAsync("bf"), rows, types, partitioned);

    /// <summary>The FHIR sample in an existing empty database (e.g. on a cluster of a test's own, to restart it).</summary>
    public static async Task<BackfillHarness> CreateOnAsync(string connectionString, long rows = 20_000, int types = 20,
        bool partitioned = true)
    {
        var options = new FhirSampleOptions { Rows = rows, TypeCount = types, Partitioned = partitioned, PayloadBytes = 20 };
        await FhirSample.CreateAsync(connectionString, options);
        return new BackfillHarness(connectionString, options);
    }

    /// <summary>Partitions of <see cref="CreateSubPartitionedAsync"/>: name, sub-partitioned or leaf, level.</summary>
    public static readonly IReadOnlyList<(string Name, bool IsLeaf, int Level)> SubPartitionTree =
    [
        ("Resource_7", true, 1), ("Resource_sys", false, 1), ("Resource_user", false, 1),
        ("Resource_sys_h0", true, 2), ("Resource_sys_h1", true, 2), ("Resource_user_low", true, 2), ("Resource_user_high", false, 2),
        ("Resource_user_high_h0", true, 3), ("Resource_user_high_h1", true, 3),
    ];

    /// <summary>
    /// The FHIR shape, partitioned on up to three levels (all by ResourceTypeId, so the unique indexes are allowed):
    /// CompartmentDefinition in a leaf of its own; the other system types in a partition sub-partitioned by hash;
    /// the user types in the default partition, by range, whose upper range is sub-partitioned again by hash.
    /// </summary>
    public static async Task<BackfillHarness> CreateSubPartitionedAsync(PostgresFixture postgres, long rows = 20_000, int types = 40)
    {
        var options = new FhirSampleOptions { Rows = rows, TypeCount = types, Partitioned = false, PayloadBytes = 20, Schema = "staging" };
        var cs = await postgres.CreateDatabaseAsync("bfsub");
        await FhirSample.CreateAsync(cs, options);
        var harness = new BackfillHarness(cs, options with { Schema = "public", Partitioned = true });
        await harness.ExecAsync("""
            CREATE TABLE "ResourceType" (LIKE staging."ResourceType" INCLUDING ALL);
            INSERT INTO "ResourceType" SELECT * FROM staging."ResourceType";
            CREATE TABLE "Resource" (LIKE staging."Resource" INCLUDING DEFAULTS) PARTITION BY LIST ("ResourceTypeId");
            ALTER TABLE "Resource" ADD PRIMARY KEY ("ResourceTypeId", "ResourceSurrogateId");
            CREATE TABLE "Resource_7" PARTITION OF "Resource" FOR VALUES IN (7);
            CREATE TABLE "Resource_sys" PARTITION OF "Resource" FOR VALUES IN (1, 2, 3, 4, 5, 6) PARTITION BY HASH ("ResourceTypeId");
            CREATE TABLE "Resource_sys_h0" PARTITION OF "Resource_sys" FOR VALUES WITH (MODULUS 2, REMAINDER 0);
            CREATE TABLE "Resource_sys_h1" PARTITION OF "Resource_sys" FOR VALUES WITH (MODULUS 2, REMAINDER 1);
            CREATE TABLE "Resource_user" PARTITION OF "Resource" DEFAULT PARTITION BY RANGE ("ResourceTypeId");
            CREATE TABLE "Resource_user_low" PARTITION OF "Resource_user" FOR VALUES FROM (MINVALUE) TO (30);
            CREATE TABLE "Resource_user_high" PARTITION OF "Resource_user" FOR VALUES FROM (30) TO (MAXVALUE)
                PARTITION BY HASH ("ResourceTypeId");
            CREATE TABLE "Resource_user_high_h0" PARTITION OF "Resource_user_high" FOR VALUES WITH (MODULUS 2, REMAINDER 0);
            CREATE TABLE "Resource_user_high_h1" PARTITION OF "Resource_user_high" FOR VALUES WITH (MODULUS 2, REMAINDER 1);
            INSERT INTO "Resource" SELECT * FROM staging."Resource";
            DROP SCHEMA staging CASCADE;
            ANALYZE "ResourceType";
            ANALYZE "Resource";
            """);
        return harness;
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

    private const string SystemList =
        "('SearchParameter','OperationDefinition','StructureDefinition','ValueSet'," +
        "'CodeSystem','CapabilityStatement','CompartmentDefinition')";

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
