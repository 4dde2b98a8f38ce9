using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>
/// A connection that plays the server without one (no Oracle here): each command is answered by <c>answer</c>, which
/// returns a DataTable (rows of a query), a value (ExecuteScalar), or sets output parameters itself (a PL/SQL block).
/// Every command is kept for assertions.
/// </summary>
internal sealed class ScriptedConnection(Func<ScriptedCommand, object?> answer) : DbConnection
{
    public List<ScriptedCommand> Commands { get; } = [];

    [AllowNull]
    public override string ConnectionString { get; set; } = "";
    public override string Database => "";
    public override string DataSource => "";
    public override string ServerVersion => "";
    public override ConnectionState State => ConnectionState.Open;
    public override void ChangeDatabase(string databaseName) { }
    public override void Close() { }
    public override void Open() { }
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => throw new NotSupportedException();

    protected override DbCommand CreateDbCommand()
    {
        var command = new ScriptedCommand(answer);
        Commands.Add(command);
        return command;
    }

    public static DataTable Table(params (string Name, Type Type)[] columns)
    {
        var table = new DataTable();
        foreach (var (name, type) in columns) table.Columns.Add(name, type);
        return table;
    }
}

internal sealed class ScriptedCommand(Func<ScriptedCommand, object?> answer) : DbCommand
{
    private readonly ScriptedParameters _parameters = new();
    public bool NonQuery { get; private set; }
    public IReadOnlyList<DbParameter> Bound => _parameters.Items;

    public object? Bind(string name) => Bound.Single(p => p.ParameterName == name).Value;

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
    protected override DbParameter CreateDbParameter() => new ScriptedParameter();

    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) =>
        answer(this) is DataTable table ? table.CreateDataReader() : throw new InvalidOperationException(
            "no rows scripted for: " + CommandText);

    public override object? ExecuteScalar() => answer(this) switch
    {
        DataTable table => table.Rows.Count == 0 ? null : table.Rows[0][0],
        var value => value,
    };

    public override int ExecuteNonQuery()
    {
        NonQuery = true;
        answer(this);
        return -1;
    }
}

internal sealed class ScriptedParameter : DbParameter
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

internal sealed class ScriptedParameters : DbParameterCollection
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
