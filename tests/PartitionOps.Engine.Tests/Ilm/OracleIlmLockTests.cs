using System.Data;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.Oracle;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>The Oracle per-table run lock (DBMS_LOCK): statement text, binds, and how its output becomes true/false.</summary>
public sealed class OracleIlmLockTests
{
    private static readonly OracleIlmDialect D = OracleIlmDialect.Instance;

    [Fact]
    public void Try_lock_requests_an_exclusive_lock_without_waiting_kept_across_commits()
    {
        var statement = D.TryLockTable("CMR", "SALES_PART")!;
        Assert.Equal("""
            DECLARE
              request_result INTEGER;
            BEGIN
              EXECUTE IMMEDIATE 'DECLARE handle VARCHAR2(128); BEGIN DBMS_LOCK.ALLOCATE_UNIQUE_AUTONOMOUS(lockname => :name, lockhandle => handle); :result := DBMS_LOCK.REQUEST(lockhandle => handle, lockmode => DBMS_LOCK.X_MODE, timeout => 0, release_on_commit => FALSE); END;'
                USING IN :lock_name, OUT request_result;
              IF request_result IN (0, 4) THEN
                :locked := 1;
              ELSIF request_result = 1 THEN
                :locked := 0;
              ELSE
                RAISE_APPLICATION_ERROR(-20001, 'DBMS_LOCK.REQUEST returned ' || request_result);
              END IF;
            EXCEPTION
              WHEN OTHERS THEN
                IF SQLCODE = -6550 THEN
                  RAISE_APPLICATION_ERROR(-20000, 'PartitionOps ILM takes a DBMS_LOCK lock per table so that two runs never work the same table, and this user may not execute SYS.DBMS_LOCK: GRANT EXECUTE ON SYS.DBMS_LOCK TO ' || USER, TRUE);
                END IF;
                RAISE;
            END;
            """.ReplaceLineEndings("\n"), statement.Text);
        Assert.Equal(
        [
            new SqlParameter("lock_name", "PARTITIONOPS.ILM.CMR.SALES_PART"),
            SqlParameter.Output("locked", DbType.Int32),
        ], statement.Parameters);
    }

    [Fact]
    public void Unlock_releases_the_same_lock_and_tolerates_not_holding_it()
    {
        var statement = D.UnlockTable("CMR", "SALES_PART")!;
        Assert.Contains("DBMS_LOCK.ALLOCATE_UNIQUE_AUTONOMOUS(lockname => :name, lockhandle => handle); :result := " +
            "DBMS_LOCK.RELEASE(lockhandle => handle);", statement.Text);
        Assert.Contains("IF release_result NOT IN (0, 4) THEN", statement.Text);
        Assert.Contains("GRANT EXECUTE ON SYS.DBMS_LOCK TO ' || USER", statement.Text);
        Assert.Equal([new SqlParameter("lock_name", "PARTITIONOPS.ILM.CMR.SALES_PART")], statement.Parameters);
        // The block's only quotes delimit literals: nothing a client-side bind scanner could take for a bind outside them.
        Assert.DoesNotContain("q'", statement.Text);
    }

    [Fact]
    public void Lock_names_stay_within_128_bytes_and_apart()
    {
        var longName = new string('T', 128);
        var name = OracleIlmDialect.LockName(new string('O', 128), longName);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(name) <= 128);
        Assert.StartsWith("PARTITIONOPS.ILM.", name);
        Assert.NotEqual(name, OracleIlmDialect.LockName(new string('O', 128), longName[..^1] + "U"));
        Assert.NotEqual(OracleIlmDialect.LockName("A", "B_C"), OracleIlmDialect.LockName("A_B", "C"));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(0, false)]
    public async Task Scalar_of_a_block_reads_its_output_parameter(int locked, bool expected)
    {
        // The server's part: the block sets :locked.
        var connection = new ScriptedConnection(c =>
        {
            foreach (var p in c.Bound.Where(p => p.Direction == ParameterDirection.Output)) p.Value = locked;
            return null;
        });
        var got = await connection.ScalarAsync<bool>(OracleProvider.Instance, D.TryLockTable("CMR", "SALES_PART")!, CancellationToken.None);
        Assert.Equal(expected, got);
        var command = Assert.Single(connection.Commands);
        Assert.True(command.NonQuery, "a block returns no rows: it is executed, not read");
        var input = command.Bound.Single(p => p.ParameterName == "lock_name");
        Assert.Equal(ParameterDirection.Input, input.Direction);
        Assert.Equal("PARTITIONOPS.ILM.CMR.SALES_PART", input.Value);
        var output = command.Bound.Single(p => p.ParameterName == "locked");
        Assert.Equal(ParameterDirection.Output, output.Direction);
        Assert.Equal(DbType.Int32, output.DbType);
    }

    [Fact]
    public void Output_parameters_are_left_out_of_plan_json_when_absent()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new SqlParameter("a", 1));
        Assert.DoesNotContain("OutputType", json);
        Assert.Contains("OutputType", System.Text.Json.JsonSerializer.Serialize(SqlParameter.Output("b", DbType.Int32)));
    }
}
