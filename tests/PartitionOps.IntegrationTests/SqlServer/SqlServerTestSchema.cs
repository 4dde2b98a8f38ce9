using System.Data.Common;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.SqlServer;
using Param = PartitionOps.Engine.Providers.SqlParameter;

namespace PartitionOps.IntegrationTests.SqlServer;

/// <summary>
/// A small FHIR-shaped Resource / ResourceType pair in a fresh schema, plus a fresh control schema, on the
/// server named by PARTITIONOPS_TEST_SQLSERVER. Everything it created is dropped on dispose.
/// </summary>
internal sealed class SqlServerTestSchema : IAsyncDisposable
{
    public const short Patient = 1, ValueSet = 2, SearchParameter = 3;

    public static readonly SqlServerProvider Provider = SqlServerProvider.Instance;
    public static readonly SqlServerBackfillDialect Dialect = new();

    private SqlServerTestSchema(DbConnection connection, BackfillTable table)
    {
        Connection = connection;
        Table = table;
    }

    public DbConnection Connection { get; }
    public BackfillTable Table { get; }
    public string Schema => Table.Schema;
    public string ControlSchema => Table.ControlSchema;

    public static async Task<DbConnection> OpenAsync()
    {
        var connection = Provider.CreateConnection(SqlServerFactAttribute.ConnectionString!);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Patient keys 1..5, ValueSet keys 101..110, SearchParameter keys 201..203.</summary>
    public static async Task<SqlServerTestSchema> CreateAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var table = new BackfillTable("pot_" + suffix, BackfillProfile.Fhir, "poc_" + suffix);
        var connection = await OpenAsync();
        var schema = new SqlServerTestSchema(connection, table);
        var s = Provider.Quote(table.Schema);
        await schema.ExecAsync($"EXEC(N'CREATE SCHEMA {s}')");
        await schema.ExecAsync($"""
            CREATE TABLE {s}.[ResourceType] (
                [ResourceTypeId] smallint NOT NULL PRIMARY KEY,
                [Name] varchar(64) NOT NULL);
            CREATE TABLE {s}.[Resource] (
                [ResourceTypeId] smallint NOT NULL,
                [ResourceSurrogateId] bigint NOT NULL,
                [ResourceId] varchar(64) NOT NULL,
                [Version] int NOT NULL,
                CONSTRAINT [PK_Resource] PRIMARY KEY CLUSTERED ([ResourceTypeId], [ResourceSurrogateId]));
            INSERT INTO {s}.[ResourceType] VALUES ({Patient}, 'Patient'), ({ValueSet}, 'ValueSet'), ({SearchParameter}, 'SearchParameter');
            INSERT INTO {s}.[Resource] ([ResourceTypeId], [ResourceSurrogateId], [ResourceId], [Version])
            SELECT {Patient}, n, CONCAT('p', n), 1 FROM (VALUES (1), (2), (3), (4), (5)) AS v(n)
            UNION ALL
            SELECT {ValueSet}, 100 + n, CONCAT('vs', n), 1 FROM (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)) AS v(n)
            UNION ALL
            SELECT {SearchParameter}, 200 + n, CONCAT('sp', n), 1 FROM (VALUES (1), (2), (3)) AS v(n);
            """);
        return schema;
    }

    public Task<int> ExecAsync(string sql, params Param[] parameters) =>
        Connection.ExecuteAsync(Provider, new SqlStatement(sql, parameters), CancellationToken.None);

    public Task<int> ExecAsync(SqlStatement statement, params Param[] parameters) =>
        Connection.ExecuteAsync(Provider, With(statement, parameters), CancellationToken.None);

    public Task<T?> ScalarAsync<T>(SqlStatement statement, params Param[] parameters) =>
        Connection.ScalarAsync<T>(Provider, With(statement, parameters), CancellationToken.None);

    public Task<List<Dictionary<string, object?>>> RowsAsync(SqlStatement statement, params Param[] parameters) =>
        Connection.QueryAsync(Provider, With(statement, parameters), r =>
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < r.FieldCount; i++) row[r.GetName(i)] = r.IsDBNull(i) ? null : r.GetValue(i);
            return row;
        }, CancellationToken.None);

    private static SqlStatement With(SqlStatement statement, Param[] parameters) =>
        parameters.Length == 0 ? statement : statement with { Parameters = [.. statement.Parameters, .. parameters] };

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var (schema, tables) in new[]
                     {
                         (ControlSchema, new[] { "backfill_checkpoint", "backfill_run", "backfill_control", "schema_version" }),
                         (Schema, new[] { "Resource", "ResourceType" }),
                     })
            {
                var s = Provider.Quote(schema);
                var drops = string.Concat(tables.Select(t => $"    DROP TABLE IF EXISTS {s}.{Provider.Quote(t)};\n"));
                await ExecAsync($"IF SCHEMA_ID(@name) IS NOT NULL\nBEGIN\n{drops}    EXEC(N'DROP SCHEMA {s}');\nEND",
                    new Param("name", schema));
            }
        }
        finally
        {
            await Connection.DisposeAsync();
        }
    }
}
