using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
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
        Assert.Contains("DBMS_LOCK.ALLOCATE_UNIQUE_AUTONOMOUS(lockname => :name, lockhandle => handle); :result := DBMS_LOCK.RELEASE(lockhandle => handle);", statement.Text);
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
        var connection = new OutputConnection(locked);
        var got = await connection.ScalarAsync<bool>(OracleProvider.Instance, D.TryLockTable("CMR", "SALES_PART")!, CancellationToken.None);
        Assert.Equal(expected, got);
        var command = connection.LastCommand!;
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

    // ---- a connection whose commands play the server: the block sets :locked ----

    private sealed class OutputConnection(int locked) : DbConnection
    {
        public OutputCommand? LastCommand { get; private set; }

        [AllowNull]
        public override string ConnectionString { get; set; } = "";
        public override string Database => "";
        public override string DataSource => "";
        public override string ServerVersion => "23";
        public override ConnectionState State => ConnectionState.Open;
        public override void ChangeDatabase(string databaseName) { }
        public override void Close() { }
        public override void Open() { }
        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => throw new NotSupportedException();
        protected override DbCommand CreateDbCommand() => LastCommand = new OutputCommand(locked);
    }

    private sealed class OutputCommand(int locked) : DbCommand
    {
        private readonly OutputParameters _parameters = new();
        public bool NonQuery { get; private set; }
        public IReadOnlyList<DbParameter> Bound => _parameters.Items;

        [AllowNull]
        public override string CommandText { get; set; } = "";
        public override int CommandTimeout { get; set; }
        public override CommandType CommandType { get; set; }
        public override bool DesignTimeVisible { get; set; }
        public override UpdateRowSource UpdatedRowSource { get; set; }
        protected override DbConnection? DbConnection { get; set; }
        protected override DbParameterCollection DbParameterCollection => _parameters;
        protected override DbTransaction? DbTransaction { get; set; }
        public override void Cancel() { }
        public override void Prepare() { }
        protected override DbParameter CreateDbParameter() => new OutputParameter();
        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => throw new NotSupportedException();
        public override object? ExecuteScalar() => throw new InvalidOperationException("a PL/SQL block returns no rows");

        public override int ExecuteNonQuery()
        {
            NonQuery = true;
            foreach (var p in _parameters.Items.Where(p => p.Direction == ParameterDirection.Output)) p.Value = locked;
            return -1;
        }
    }

    private sealed class OutputParameter : DbParameter
    {
        public override DbType DbType { get; set; } = DbType.String;
        public override ParameterDirection Direction { get; set; } = ParameterDirection.Input;
        public override bool IsNullable { get; set; }
        [AllowNull]
        public override string ParameterName { get; set; } = "";
        public override int Size { get; set; }
        [AllowNull]
        public override string SourceColumn { get; set; } = "";
        public override bool SourceColumnNullMapping { get; set; }
        public override object? Value { get; set; }
        public override void ResetDbType() { }
    }

    private sealed class OutputParameters : DbParameterCollection
    {
        public List<DbParameter> Items { get; } = [];
        public override int Count => Items.Count;
        public override object SyncRoot => Items;
        public override int Add(object value) { Items.Add((DbParameter)value); return Items.Count - 1; }
        public override void AddRange(Array values) { foreach (var v in values) Add(v); }
        public override void Clear() => Items.Clear();
        public override bool Contains(object value) => Items.Contains((DbParameter)value);
        public override bool Contains(string value) => IndexOf(value) >= 0;
        public override void CopyTo(Array array, int index) => ((ICollection)Items).CopyTo(array, index);
        public override IEnumerator GetEnumerator() => Items.GetEnumerator();
        public override int IndexOf(object value) => Items.IndexOf((DbParameter)value);
        public override int IndexOf(string parameterName) => Items.FindIndex(p => p.ParameterName == parameterName);
        public override void Insert(int index, object value) => Items.Insert(index, (DbParameter)value);
        public override void Remove(object value) => Items.Remove((DbParameter)value);
        public override void RemoveAt(int index) => Items.RemoveAt(index);
        public override void RemoveAt(string parameterName) => Items.RemoveAt(IndexOf(parameterName));
        protected override DbParameter GetParameter(int index) => Items[index];
        protected override DbParameter GetParameter(string parameterName) => Items[IndexOf(parameterName)];
        protected override void SetParameter(int index, DbParameter value) => Items[index] = value;
        protected override void SetParameter(string parameterName, DbParameter value) => Items[IndexOf(parameterName)] = value;
    }
}
