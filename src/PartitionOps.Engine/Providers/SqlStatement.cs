using System.Data;
using System.Text.Json.Serialization;

namespace PartitionOps.Engine.Providers;

/// <summary>A parameter value; the name carries no prefix (the dialect adds @ or :).</summary>
public sealed record SqlParameter(string Name, object? Value)
{
    /// <summary>
    /// Set for an output parameter (e.g. the result of an Oracle PL/SQL block, which returns no rows): its type, so that
    /// the driver hands back a .NET value. <see cref="DbExtensions.ScalarAsync{T}"/> returns the first output's value.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DbType? OutputType { get; init; }

    /// <summary>An output parameter of <paramref name="type"/>.</summary>
    public static SqlParameter Output(string name, DbType type) => new(name, null) { OutputType = type };
}

/// <summary>
/// One statement (or one server-side batch) exactly as it will be sent. Plans are lists of these,
/// so -WhatIf / --dry-run show the very text that would run.
/// </summary>
public sealed record SqlStatement(string Text, IReadOnlyList<SqlParameter> Parameters)
{
    public SqlStatement(string text) : this(text, Array.Empty<SqlParameter>()) { }

    public static SqlStatement Of(string text, params SqlParameter[] parameters) => new(text, parameters);

    /// <summary>The same statement with one more parameter value bound.</summary>
    public SqlStatement With(string name, object? value) => this with { Parameters = [.. Parameters, new SqlParameter(name, value)] };

    public SqlStatement With(params SqlParameter[] parameters) => this with { Parameters = [.. Parameters, .. parameters] };

    public override string ToString() => Text;
}
