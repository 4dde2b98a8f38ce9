using System.Data;
using System.Data.Common;

namespace PartitionOps.Engine.Providers;

/// <summary>Runs <see cref="SqlStatement"/>s on a connection: the only place commands are built.</summary>
public static class DbExtensions
{
    public static DbCommand CreateCommand(this DbConnection connection, IDatabaseProvider provider,
        SqlStatement statement, DbTransaction? transaction = null, int? timeoutSeconds = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = statement.Text;
        command.Transaction = transaction;
        if (timeoutSeconds is { } t) command.CommandTimeout = t;
        provider.PrepareCommand(command);
        foreach (var p in statement.Parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = provider.BindName(p.Name);
            parameter.Value = p.Value ?? DBNull.Value;
            if (p.OutputType is { } type)
            {
                // ODP.NET returns a .NET value (not OracleDecimal) for an output bound by DbType:
                // https://docs.oracle.com/cd/E15296_01/doc.111/e15167/featOraCommand.htm (Parameter Binding).
                parameter.Direction = ParameterDirection.Output;
                parameter.DbType = type;
            }
            command.Parameters.Add(parameter);
        }
        return command;
    }

    public static async Task<int> ExecuteAsync(this DbConnection connection, IDatabaseProvider provider,
        SqlStatement statement, CancellationToken ct, DbTransaction? transaction = null, int? timeoutSeconds = null)
    {
        await using var command = connection.CreateCommand(provider, statement, transaction, timeoutSeconds);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The first column of the first row, or, when the statement has an output parameter (a PL/SQL block returns no
    /// rows), the value of its first output parameter.
    /// </summary>
    public static async Task<T?> ScalarAsync<T>(this DbConnection connection, IDatabaseProvider provider,
        SqlStatement statement, CancellationToken ct, DbTransaction? transaction = null, int? timeoutSeconds = null)
    {
        await using var command = connection.CreateCommand(provider, statement, transaction, timeoutSeconds);
        object? value;
        if (statement.Parameters.FirstOrDefault(p => p.OutputType != null) is { } output)
        {
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            value = command.Parameters[provider.BindName(output.Name)].Value;
        }
        else
        {
            value = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }
        return value is null or DBNull ? default : ConvertTo<T>(value);
    }

    public static async Task<List<T>> QueryAsync<T>(this DbConnection connection, IDatabaseProvider provider,
        SqlStatement statement, Func<DbDataReader, T> map, CancellationToken ct,
        DbTransaction? transaction = null, int? timeoutSeconds = null)
    {
        await using var command = connection.CreateCommand(provider, statement, transaction, timeoutSeconds);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) rows.Add(map(reader));
        return rows;
    }

    public static async Task EnsureOpenAsync(this DbConnection connection, CancellationToken ct)
    {
        if (connection.State != ConnectionState.Open) await connection.OpenAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads a column that may be null, converting numeric types across providers (Oracle NUMBER is decimal).</summary>
    public static T? Get<T>(this DbDataReader reader, string column)
    {
        var value = reader[column];
        return value is DBNull ? default : ConvertTo<T>(value);
    }

    public static T ConvertTo<T>(object value)
    {
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (value is T typed) return typed;
        if (target == typeof(DateTimeOffset) && value is DateTime dt)
            return (T)(object)new DateTimeOffset(
                DateTime.SpecifyKind(dt, dt.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : dt.Kind));
        return (T)Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture);
    }
}
