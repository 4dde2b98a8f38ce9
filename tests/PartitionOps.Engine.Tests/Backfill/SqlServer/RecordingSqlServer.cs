using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.SqlServer;
using PartitionOps.Engine.Tests.Ilm;

namespace PartitionOps.Engine.Tests.Backfill.SqlServer;

/// <summary>
/// A SQL Server that no one runs here, played from what the documentation says it does: catalog queries of the real dialect
/// answered from a small model (the table, its columns, its indexes, a view), every statement recorded, and the server's
/// documented errors raised where it would raise them:
/// - 10675 for CREATE INDEX with RESUMABLE on a filtered index ("The RESUMABLE option is not supported for this index
///   build", quoted in MicrosoftDocs/sql-docs pull request 10281; the CREATE INDEX reference lists filtered indexes among
///   what resumable index create does not support);
/// - 1222 (lock request time out) for the statements queued in <see cref="LockTimeouts"/>.
/// The engine runs against it through the real SQL Server dialect and the real error classification by number.
/// </summary>
internal sealed class RecordingSqlServer : IDatabaseProvider
{
    public const int ResumableNotSupported = 10675;
    public const int LockTimeout = 1222;

    private readonly SqlServerBackfillDialect _dialect = new();

    public bool TableExists { get; set; } = true;
    public List<(string Schema, string Table)> ViewBases { get; } = [];
    public List<string> Columns { get; } = ["ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "IsHistory", "IsDeleted",
        "PartitionId"];
    public Dictionary<string, (bool Valid, bool Paused, int? MaxDop)> Indexes { get; } = new(StringComparer.OrdinalIgnoreCase);
    public long TableRows { get; set; } = 1_000_000;
    public int MaxRowBytes { get; set; } = 1_200;
    /// <summary>Statements (by a text they contain) that fail once each with a lock timeout.</summary>
    public List<string> LockTimeouts { get; } = [];
    /// <summary>Every statement that changes something, in order (catalog reads are not kept).</summary>
    public List<string> Executed { get; } = [];
    public List<string> Refused { get; } = [];

    public DatabaseTarget Target() => new(this, "Server=recorded;Database=fhir");

    public DatabaseKind Kind => DatabaseKind.SqlServer;
    public string Name => "sqlserver";
    public string DefaultSchema => "dbo";
    public string DefaultControlSchema => "partitionops";
    public IErrorClassifier Errors { get; } = new NumberClassifier();
    public string Quote(string identifier) => SqlServerProvider.Instance.Quote(identifier);
    public string ParameterMarker(string name) => "@" + name;
    public DbConnection CreateConnection(string connectionString, string? accessToken = null) => new Connection(this);
    public IBackfillDialect? Backfill => _dialect;
    public IIlmDialect? Ilm => null;

    private static string[] SystemTypes => [.. BackfillProfile.FhirSystemTypes];

    private object? Answer(ScriptedCommand command)
    {
        var text = command.CommandText;
        string Param(string name) => (string)command.Bound.Single(p => p.ParameterName.TrimStart('@') == name).Value!;
        if (text == _dialect.SchemaExistsText().Text) return 1;
        if (text == _dialect.TableInfoText().Text)
        {
            var table = ScriptedConnection.Table(("is_partitioned", typeof(int)));
            if (Param("table") == "ResourceType" || TableExists) table.Rows.Add(0);
            return table;
        }
        if (text == _dialect.ViewBaseTablesText().Text)
        {
            var table = ScriptedConnection.Table(("base_schema", typeof(string)), ("base_table", typeof(string)));
            foreach (var (schema, name) in ViewBases) table.Rows.Add(schema, name);
            return table;
        }
        if (text == _dialect.ColumnsText().Text)
        {
            var table = ScriptedConnection.Table(("column_name", typeof(string)), ("data_type", typeof(string)),
                ("is_nullable", typeof(int)), ("default_value", typeof(string)));
            foreach (var c in Columns)
                table.Rows.Add(c, c switch { "PartitionId" => "smallint", "ResourceTypeId" => "smallint",
                    "ResourceSurrogateId" => "bigint", "IsHistory" or "IsDeleted" => "bit", "Version" => "int", _ => "varchar" },
                    0, c == "PartitionId" ? "2" : null);
            return table;
        }
        if (text == _dialect.LookupTypes(new BackfillTable("dbo", BackfillProfile.Fhir, "partitionops")).Text)
        {
            var table = ScriptedConnection.Table(("type_id", typeof(int)), ("name", typeof(string)));
            for (var i = 0; i < SystemTypes.Length; i++) table.Rows.Add(100 + i, SystemTypes[i]);
            table.Rows.Add(1, "Patient");
            return table;
        }
        if (text == _dialect.ServerInfo().Text)
        {
            var table = ScriptedConnection.Table(("version", typeof(string)), ("major_version", typeof(int)), ("edition", typeof(string)),
                ("supports_online_index", typeof(int)), ("supports_resumable_index", typeof(int)),
                    ("metadata_only_add_column", typeof(int)));
            table.Rows.Add("16.0.4135.4", 16, "Enterprise Edition (64-bit)", 1, 1, 1);
            return table;
        }
        if (text == _dialect.TableRowEstimateText().Text) return TableRows;
        if (text == _dialect.MaxRowBytesText().Text)
        {
            var table = ScriptedConnection.Table(("max_row_bytes", typeof(int)));
            table.Rows.Add(MaxRowBytes);
            return table;
        }
        if (text == _dialect.PartitionsText().Text)
            return ScriptedConnection.Table(("partition_schema", typeof(string)), ("partition_name", typeof(string)),
                ("parent_schema", typeof(string)),
                ("parent_name", typeof(string)), ("is_leaf", typeof(int)), ("level", typeof(int)));
        if (text == _dialect.IndexesText().Text)
        {
            var table = ScriptedConnection.Table(("object_schema", typeof(string)), ("object_name", typeof(string)),
                ("index_name", typeof(string)),
                ("is_valid", typeof(int)), ("is_paused", typeof(int)), ("paused_max_dop", typeof(int)));
            foreach (var (name, (valid, paused, dop)) in Indexes)
                table.Rows.Add("dbo", "Resource", name, valid ? 1 : 0, paused ? 1 : 0, dop is { } d ? d : DBNull.Value);
            return table;
        }
        if (text == _dialect.ControlTablesExist("partitionops").Text) return 1;
        if (text == _dialect.PermissionsText().Text)
        {
            var table = ScriptedConnection.Table(("permission", typeof(string)), ("granted", typeof(int)), ("needs", typeof(string)));
            foreach (var permission in new[] { "alter_table", "update_table", "create_control_schema" })
                table.Rows.Add(permission, 1, null);
            return table;
        }
        if (text == _dialect.LatestRunText("partitionops").Text)
            return ScriptedConnection.Table(("run_id", typeof(long)), ("direction", typeof(string)), ("status", typeof(string)),
                ("host", typeof(string)),
                ("started_at", typeof(DateTime)), ("ended_at", typeof(DateTime)));
        if (text.StartsWith("SELECT", StringComparison.Ordinal) && text.Contains("dm_db_stats_histogram", StringComparison.Ordinal))
            return ScriptedConnection.Table(("type_id", typeof(int)), ("estimated_rows", typeof(long)));

        // One runner here: the setup lock and the type locks are always granted (sp_getapplock returned 0).
        if (text == _dialect.TryAcquireAppLockText().Text) return 1;

        // Statements that change something.
        Executed.Add(text);
        if (LockTimeouts.FirstOrDefault(t => text.Contains(t, StringComparison.Ordinal)) is { } queued)
        {
            LockTimeouts.Remove(queued);
            throw new ServerError(LockTimeout, "Lock request time out period exceeded.");
        }
        if (text.StartsWith("CREATE ", StringComparison.Ordinal) && text.Contains(" INDEX ", StringComparison.Ordinal))
        {
            if (text.Contains("RESUMABLE = ON", StringComparison.Ordinal) && text.Contains(" WHERE ", StringComparison.Ordinal))
            {
                Refused.Add(text);
                throw new ServerError(ResumableNotSupported,
                    "The RESUMABLE option is not supported for this index build. Remove the RESUMABLE option and rerun the statement.");
            }
            Indexes[Between(text, "INDEX [", "]")] = (true, false, null);
        }
        else if (text.StartsWith("ALTER INDEX ", StringComparison.Ordinal) && text.Contains(" RESUME ", StringComparison.Ordinal))
            Indexes[Between(text, "ALTER INDEX [", "]")] = (true, false, null);
        else if (text.Contains("ALTER TABLE", StringComparison.Ordinal) && text.Contains(" ADD ", StringComparison.Ordinal))
            Columns.Add("PartitionId");
        return command.NonQuery ? null : 0;
    }

    private static string Between(string text, string start, string end)
    {
        var i = text.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return text[i..text.IndexOf(end, i, StringComparison.Ordinal)];
    }

    /// <summary>A server error with its number, as SqlException carries it (SqlException has no public constructor).</summary>
    public sealed class ServerError(int number, string message) : DbException($"Msg {number}: {message}")
    {
        public int Number { get; } = number;
    }

    /// <summary>The production classification of SQL Server errors, by number.</summary>
    private sealed class NumberClassifier : IErrorClassifier
    {
        public ErrorKind Classify(Exception exception) =>
            exception is ServerError e ? SqlServerErrorClassifier.ClassifyError(e.Number, e.Message) : ErrorKind.Permanent;
    }

    private sealed class Connection(RecordingSqlServer server) : DbConnection
    {
        [AllowNull]
        public override string ConnectionString { get; set; } = "";
        public override string Database => "fhir";
        public override string DataSource => "recorded";
        public override string ServerVersion => "16.0";
        public override ConnectionState State => ConnectionState.Open;
        public override void ChangeDatabase(string databaseName) { }
        public override void Close() { }
        public override void Open() { }
        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => new Transaction(this);
        protected override DbCommand CreateDbCommand() => new ScriptedCommand(server.Answer);
    }

    private sealed class Transaction(DbConnection connection) : DbTransaction
    {
        public override IsolationLevel IsolationLevel => IsolationLevel.ReadCommitted;
        protected override DbConnection DbConnection => connection;
        public override void Commit() { }
        public override void Rollback() { }
    }
}
