using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.Oracle;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// Runs only when PARTITIONOPS_TEST_ORACLE holds an Oracle connection string (and ODP.NET can be found,
/// see <see cref="OracleDriver"/>); otherwise xunit reports the tests as skipped with that reason.
/// </summary>
public sealed class OracleFactAttribute : FactAttribute
{
    public const string Variable = "PARTITIONOPS_TEST_ORACLE";

    public OracleFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))) Skip = $"{Variable} not set";
    }
}

/// <summary>
/// ILM against a real Oracle (12.2+). Tablespaces come from PARTITIONOPS_TEST_ORACLE_TABLESPACES
/// ("HOT,WARM,COLD"), USERS for all three when unset.
/// </summary>
public sealed class OracleIlmTests
{
    private static DatabaseTarget Target() =>
        new(OracleProvider.Instance, Environment.GetEnvironmentVariable(OracleFactAttribute.Variable)!);

    private static IlmPolicy Policy()
    {
        var names = (Environment.GetEnvironmentVariable("PARTITIONOPS_TEST_ORACLE_TABLESPACES") ?? "USERS,USERS,USERS").Split(',');
        var d = IlmPolicy.Default;
        return d with
        {
            Hot = d.Hot with { Tablespace = names[0].Trim() },
            Warm = d.Warm with { Tablespace = names[Math.Min(1, names.Length - 1)].Trim() },
            Cold = d.Cold with { Tablespace = names[Math.Min(2, names.Length - 1)].Trim() },
        };
    }

    private static async Task ExecuteAsync(DatabaseTarget target, string sql)
    {
        await using var connection = await target.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(target.Provider, new SqlStatement(sql), CancellationToken.None);
    }

    private static async Task<long> CountAsync(DatabaseTarget target, string sql)
    {
        await using var connection = await target.OpenAsync(CancellationToken.None);
        return await connection.ScalarAsync<long>(target.Provider, new SqlStatement(sql), CancellationToken.None);
    }

    [OracleFact]
    public async Task Due_months_merge_in_one_statement_into_the_higher_name_then_are_renamed()
    {
        var target = Target();
        var table = "ILM_T_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        await ExecuteAsync(target, $"""
            CREATE TABLE {table} (id NUMBER NOT NULL, sale_date DATE NOT NULL, amount NUMBER(12,2))
            PARTITION BY RANGE (sale_date) (
              PARTITION P_2023 VALUES LESS THAN (DATE '2023-11-01'),
              PARTITION P_2023_11 VALUES LESS THAN (DATE '2023-12-01'),
              PARTITION P_2023_12 VALUES LESS THAN (DATE '2024-01-01'),
              PARTITION P_MAX VALUES LESS THAN (MAXVALUE))
            """);
        try
        {
            await ExecuteAsync(
                target, $"INSERT INTO {table} SELECT LEVEL, DATE '2023-01-01' + MOD(LEVEL, 365), 1 FROM dual CONNECT BY LEVEL <= 3650");
            await ExecuteAsync(target, "COMMIT");
            var total = await CountAsync(target, $"SELECT COUNT(*) FROM {table}");
            var ilm = new IlmService();

            var snapshot = await ilm.SnapshotAsync(new IlmTableRequest(target, table));
            Assert.Equal(["P_2023", "P_2023_11", "P_2023_12", "P_MAX"], snapshot.Partitions.Select(p => p.Name));
            Assert.Equal(new DateTime(2023, 11, 1), snapshot.Partitions[0].UpperBound);
            Assert.Null(snapshot.Partitions[3].UpperBound);

            var result = await ilm.RunAsync(new IlmRunRequest(target, table) { Policy = Policy(), AsOf = new DateOnly(2026, 1, 1) });
            var merge = Assert.Single(result.Outcomes, o => o.Action is MergeAction);
            Assert.Equal(IlmStatus.Success, merge.Status);
            Assert.Equal(total, merge.RowsAfter);
            Assert.Equal(1, await CountAsync(
                target, $"SELECT COUNT(*) FROM user_tab_partitions WHERE table_name = '{table}' AND partition_name = 'P_2023'"));
            Assert.Equal(2, await CountAsync(target, $"SELECT COUNT(*) FROM user_tab_partitions WHERE table_name = '{table}'"));
            Assert.Equal(total, await CountAsync(target, $"SELECT COUNT(*) FROM {table}"));

            var again = await ilm.PlanAsync(
                new IlmPlanRequest { Target = target, Table = table, Policy = Policy(), AsOf = new DateOnly(2026, 1, 1) });
            Assert.DoesNotContain(again.Plan.Work, a => a is MergeAction or RenameAction);
            var history = await ilm.HistoryAsync(new IlmHistoryRequest(target) { Table = table });
            Assert.Equal(2, history.Count(h => h.MergeStatus == IlmStatus.Success));
        }
        finally
        {
            await ExecuteAsync(target, $"DROP TABLE {table} PURGE");
        }
    }
}
