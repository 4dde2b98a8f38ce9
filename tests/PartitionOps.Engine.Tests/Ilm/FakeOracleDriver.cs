using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

// Stand-ins with ODP.NET's names and the members PartitionOps reaches by reflection: the real driver
// cannot be restored here.
namespace Oracle.ManagedDataAccess.Client;

public sealed class OracleClientFactory : DbProviderFactory
{
    public static readonly OracleClientFactory Instance = new();

    public override DbCommand CreateCommand() => new OracleCommand();
}

public sealed class OracleException(int number) : DbException($"ORA-{number:D5}: fake")
{
    public int Number { get; } = number;
}

public sealed class OracleCommand : DbCommand
{
    public bool BindByName { get; set; }
    public int InitialLONGFetchSize { get; set; }

    [AllowNull]
    public override string CommandText { get; set; } = "";
    public override int CommandTimeout { get; set; }
    public override CommandType CommandType { get; set; }
    public override bool DesignTimeVisible { get; set; }
    public override UpdateRowSource UpdatedRowSource { get; set; }
    protected override DbConnection? DbConnection { get; set; }
    protected override DbParameterCollection DbParameterCollection => throw new NotSupportedException();
    protected override DbTransaction? DbTransaction { get; set; }
    public override void Cancel() { }
    public override int ExecuteNonQuery() => throw new NotSupportedException();
    public override object? ExecuteScalar() => throw new NotSupportedException();
    public override void Prepare() { }
    protected override DbParameter CreateDbParameter() => throw new NotSupportedException();
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => throw new NotSupportedException();
}
