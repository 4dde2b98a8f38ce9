using Microsoft.SqlServer.TransactSql.ScriptDom;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Backfill.SqlServer;

/// <summary>
/// No SQL Server runs here, so Microsoft's own T-SQL parser (ScriptDom, TSql150Parser: SQL Server 2019, the oldest
/// release we support) reads every statement the SQL Server backfill dialect can emit: every method, every option
/// combination and index state, and the dynamic SQL inside EXEC(...) and sp_executesql, extracted and parsed too.
/// On top of the grammar, the rules Microsoft's documentation states for index builds are checked on the parsed trees.
/// </summary>
public sealed class SqlServerScriptDomTests
{
    private const string Control = "partitionops";
    private static readonly SqlServerBackfillDialect Dialect = new();

    private static readonly BackfillTable[] Tables =
    [
        new("dbo", BackfillProfile.Fhir, Control),
        new("dbo", BackfillProfile.FhirPrototype, Control),
        // Names that need quoting, a non-unique index, a bigint column and an integer extra predicate.
        new("odd]schema", BackfillProfile.Fhir with
        {
            Table = "Res]ource", PartitionColumn = "Part Id", PartitionColumnType = "bigint", TypeColumn = "Type]Id", KeyColumn = "Key Id",
            LookupTable = "Look'up", LookupIdColumn = "Id]", LookupNameColumn = "Na'me",
            Indexes =
            [
                new() { Name = "IX'one]", Partition = "system", Columns = ["Type]Id", "Key Id"], Include = ["Inc]l"], Unique = false,
                        Where = ProfileIndex.Conditions(("Flag]", 3), ("Other", true)) },
                new() { Name = "IX two", Partition = "default", Columns = ["Type]Id"] },
            ],
        }, "control]schema"),
    ];

    /// <summary>Every statement, named by the method (and options) that built it.</summary>
    public static IEnumerable<(string Name, SqlStatement Statement)> EveryStatement()
    {
        foreach (var control in new[] { Control, "control]schema" })
        {
            foreach (var s in Dialect.CreateControlTables(control)) yield return ("CreateControlTables", s);
            yield return ("ControlTablesExist", Dialect.ControlTablesExist(control));
            yield return ("InsertRun", Dialect.InsertRunText(control));
            yield return ("LatestRun", Dialect.LatestRunText(control));
            yield return ("SetRunStatus", Dialect.SetRunStatusText(control));
            yield return ("InsertCheckpoint", Dialect.InsertCheckpointText(control));
            yield return ("ReadCheckpoints", Dialect.ReadCheckpointsText(control));
            yield return ("UpdateCheckpointStatus", Dialect.UpdateCheckpointStatusText(control));
            yield return ("AddLockWaits", Dialect.AddLockWaitsText(control));
            yield return ("SetStopFlag", Dialect.SetStopFlagText(control));
            yield return ("ReadStopFlag", Dialect.ReadStopFlagText(control));
        }
        yield return ("TryAcquireAppLock", Dialect.TryAcquireAppLockText());
        yield return ("ReleaseAppLock", Dialect.ReleaseAppLockText());
        yield return ("ServerInfo", Dialect.ServerInfo());
        yield return ("SchemaExists", Dialect.SchemaExistsText());
        yield return ("TableInfo", Dialect.TableInfoText());
        yield return ("ViewBaseTables", Dialect.ViewBaseTablesText());
        yield return ("TableRowEstimate", Dialect.TableRowEstimateText());
        yield return ("MaxRowBytes", Dialect.MaxRowBytesText());
        yield return ("Columns", Dialect.ColumnsText());
        yield return ("Partitions", Dialect.PartitionsText());
        yield return ("Indexes", Dialect.IndexesText());
        yield return ("Permissions", Dialect.PermissionsText());
        yield return ("ThrottleSignals", Dialect.ThrottleSignals());
        foreach (var timeout in new[] { TimeSpan.FromMilliseconds(-1), TimeSpan.Zero, TimeSpan.FromSeconds(5), TimeSpan.MaxValue })
            yield return ("SetLockTimeout", Dialect.SetLockTimeout(timeout));

        foreach (var table in Tables)
        {
            yield return ("LookupTypes", Dialect.LookupTypes(table));
            yield return ("EstimatedRowsPerType", Dialect.EstimatedRowsPerTypeText(table));
            foreach (var type in new[] { "smallint", "int", "integer", "bigint" })
                yield return ("AddPartitionColumn",
                    Dialect.AddPartitionColumn(table with { Profile = table.Profile with { PartitionColumnType = type } }));
            yield return ("HighWaterMark", Dialect.HighWaterMarkText(table));
            yield return ("Batch", Dialect.BatchText(table));
            yield return ("Sweep", Dialect.SweepText(table));
            yield return ("ExactCounts", Dialect.ExactCountsText(table));
            for (var count = 1; count <= 8; count++) yield return ("Misplaced", Dialect.MisplacedText(table, count));
            for (var count = 1; count <= 8; count++) yield return ("MisplacedSinceRun", Dialect.MisplacedSinceRunText(table, count));
            foreach (var (name, statement) in IndexBuilds(table)) yield return (name, statement);
        }
    }

    /// <summary>Every index build: each index of the profile in each catalog state, with every option combination.</summary>
    private static IEnumerable<(string Name, SqlStatement Statement)> IndexBuilds(BackfillTable table)
    {
        foreach (var index in table.Profile.FilteredIndexes())
        foreach (var online in new[] { true, false })
        foreach (var resumable in new[] { true, false })
        foreach (var compression in new[] { "NONE", "ROW", "PAGE", "page" })
        foreach (var maxDop in new[] { 0, 1, 4, SqlServerBackfillDialect.MaxIndexMaxDop })
        foreach (var minutes in new[] { 1, 240, SqlServerBackfillDialect.MaxResumableMinutes })
        {
            var options = new IndexBuildOptions { Online = online, Resumable = resumable, DataCompression = compression, MaxDop = maxDop,
                MaxDurationMinutes = minutes };
            IndexState State(bool valid, bool paused) =>
                new(table.Schema, table.Table, index.Name, valid, paused) { PausedMaxDop = paused ? 2 : null };
            foreach (var existing in new IndexState[][] { [], [State(false, false)], [State(false, true)], [State(true, false)] })
            foreach (var statement in Dialect.BuildFilteredIndex(table, index, existing, [], options))
                yield return ($"BuildFilteredIndex {index.Name} online={online} resumable={resumable} {compression} maxdop={maxDop} " +
                    $"minutes={minutes}", statement);
        }
    }

    private static TSqlFragment Parse(string text, string name)
    {
        var parser = new TSql150Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(text);
        var fragment = parser.Parse(reader, out var errors);
        Assert.True(errors.Count == 0,
            $"{name}: {string.Join("; ", errors.Select(e => $"line {e.Line} col {e.Column}: {e.Message}"))}\n{text}");
        return fragment;
    }

    [Fact]
    public void Every_statement_of_the_dialect_parses_with_TSql150Parser_without_errors()
    {
        var count = 0;
        foreach (var (name, statement) in EveryStatement())
        {
            Parse(statement.Text, name);
            count++;
        }
        Assert.True(count > 1000, $"only {count} statements enumerated");
    }

    [Fact]
    public void The_dynamic_sql_inside_exec_and_sp_executesql_is_extracted_and_parses_too()
    {
        var found = new List<(string Name, string Sql)>();
        foreach (var (name, statement) in EveryStatement())
            found.AddRange(DynamicSql.Extract(Parse(statement.Text, name)).Select(sql => (name, sql)));
        foreach (var (name, sql) in found) Parse(sql, name + " (dynamic SQL)");

        // CREATE SCHEMA per control schema (2), the geo-replication and the replica probes of the throttle (2).
        Assert.Equal(2, found.Count(f => f.Name == "CreateControlTables" && f.Sql.StartsWith("CREATE SCHEMA ", StringComparison.Ordinal)));
        Assert.Contains(found,
            f => f.Name == "ThrottleSignals" && f.Sql.Contains("sys.dm_geo_replication_link_status", StringComparison.Ordinal));
        Assert.Contains(found,
            f => f.Name == "ThrottleSignals" && f.Sql.Contains("FROM " + DynamicSql.Placeholder, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_method_of_the_dialect_contract_that_returns_sql_is_enumerated()
    {
        var covered = EveryStatement().Select(x => x.Name.Split(' ')[0]).ToHashSet();
        var methods = typeof(IBackfillDialect).GetMethods()
            .Where(m => m.ReturnType == typeof(SqlStatement) || m.ReturnType == typeof(IReadOnlyList<SqlStatement>))
            .Select(m => m.Name).ToHashSet();
        Assert.Empty(methods.Except(covered));
    }

    // ------------------------------------------------------------------ rules from Microsoft's documentation

    private static IEnumerable<(string Name, IndexStatement Statement)> IndexStatements() =>
        EveryStatement().Where(x => x.Name.StartsWith("BuildFilteredIndex", StringComparison.Ordinal))
            .SelectMany(x => Statements<IndexStatement>(Parse(x.Statement.Text, x.Name)).Select(s => (x.Name, s)));

    private static IEnumerable<T> Statements<T>(TSqlFragment fragment) where T : TSqlStatement =>
        ((TSqlScript)fragment).Batches.SelectMany(b => b.Statements).OfType<T>();

    private static IndexOption? Option(IndexStatement statement, IndexOptionKind kind) =>
        statement.IndexOptions.FirstOrDefault(o => o.OptionKind == kind);

    private static bool IsOn(IndexOption? option) => option is IndexStateOption { OptionState: OptionState.On };

    private static int IntValue(ScalarExpression expression) => int.Parse(((Literal)expression).Value,
        System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The documented rules an index statement breaks (none for ours).</summary>
    private static List<string> Violations(IndexStatement statement)
    {
        var broken = new List<string>();
        var resumable = IsOn(Option(statement, IndexOptionKind.Resumable));
        if (statement is CreateIndexStatement { FilterPredicate: not null } && Option(statement, IndexOptionKind.Resumable) is not null)
            broken.Add("RESUMABLE on a filtered index");
        if (Option(statement, IndexOptionKind.MaxDuration) is not null && !resumable && statement is CreateIndexStatement)
            broken.Add("MAX_DURATION without RESUMABLE = ON");
        if (resumable && !IsOn(Option(statement, IndexOptionKind.Online))) broken.Add("RESUMABLE without ONLINE = ON");
        if (Option(statement, IndexOptionKind.MaxDuration) is MaxDurationOption { MaxDuration: var minutes }
            && IntValue(minutes) is < 1 or > 10_080)
            broken.Add("MAX_DURATION outside 1..10080 minutes");
        if (Option(statement, IndexOptionKind.MaxDop) is IndexExpressionOption { Expression: var dop } && IntValue(dop) is < 0 or > 64)
            broken.Add("MAXDOP outside 0..64");
        return broken;
    }

    [Fact]
    public void The_rules_find_what_the_server_would_refuse_in_the_spec_s_statement_and_nothing_in_ours()
    {
        // The spec's phase-2 statement parses (the grammar allows it) but breaks the documented limits.
        var spec = Parse("CREATE UNIQUE NONCLUSTERED INDEX [IX] ON [dbo].[Resource] ([ResourceTypeId], [ResourceId], [Version]) WHERE " +
            "[PartitionId] = 1 " +
                         "WITH (ONLINE = ON, RESUMABLE = ON, MAX_DURATION = 20000 MINUTES, MAXDOP = 65, DATA_COMPRESSION = PAGE)", "spec");
        Assert.Equal(["RESUMABLE on a filtered index", "MAX_DURATION outside 1..10080 minutes", "MAXDOP outside 0..64"],
            Violations(Statements<CreateIndexStatement>(spec).Single()));
        var unbalanced = new TSql150Parser(true).Parse(new StringReader("CREATE INDEX [IX] ON [t] ([a]) WHERE [a] = 1 WITH (ONLINE = ON"),
            out var errors);
        Assert.NotEmpty(errors);

        Assert.All(IndexStatements(),
            x => Assert.True(Violations(x.Statement).Count == 0, $"{x.Name}: {string.Join(", ", Violations(x.Statement))}"));
    }

    [Fact]
    public void No_create_index_with_a_where_clause_asks_for_resumable()
    {
        // CREATE INDEX, resumable index operations, current functional limitations: "Filtered index".
        // https://learn.microsoft.com/sql/t-sql/statements/create-index-transact-sql#resumable-indexes
        var creates = IndexStatements().Select(x => x.Statement).OfType<CreateIndexStatement>().ToList();
        Assert.NotEmpty(creates);
        Assert.All(creates, c =>
        {
            Assert.NotNull(c.FilterPredicate);
            Assert.Null(Option(c, IndexOptionKind.Resumable));
        });
    }

    [Fact]
    public void Max_duration_only_with_resumable_on_and_resumable_only_with_online_on()
    {
        // "MAX_DURATION option is only supported for RESUMABLE = ON option"; RESUMABLE requires ONLINE = ON.
        foreach (var (name, statement) in IndexStatements().Where(x => x.Statement is CreateIndexStatement))
        {
            if (Option(statement, IndexOptionKind.MaxDuration) is not null)
                Assert.True(IsOn(Option(statement, IndexOptionKind.Resumable)), name);
            if (IsOn(Option(statement, IndexOptionKind.Resumable))) Assert.True(IsOn(Option(statement, IndexOptionKind.Online)), name);
            Assert.Null(Option(statement, IndexOptionKind.SortInTempDB)); // not supported with RESUMABLE; never needed here
        }
    }

    [Fact]
    public void Max_duration_is_between_1_and_10080_minutes_and_maxdop_between_0_and_64()
    {
        var resumes = 0;
        foreach (var (name, statement) in IndexStatements())
        {
            if (Option(statement, IndexOptionKind.MaxDuration) is MaxDurationOption duration)
            {
                Assert.InRange(IntValue(duration.MaxDuration), 1, 10_080);
                resumes++;
            }
            if (Option(statement, IndexOptionKind.MaxDop) is IndexExpressionOption dop) Assert.InRange(IntValue(dop.Expression), 0, 64);
            else Assert.Fail($"{name}: no MAXDOP");
        }
        Assert.True(resumes > 0, "no RESUME statement was checked");
    }

    [Fact]
    public void A_resume_keeps_the_maxdop_of_the_paused_build_whatever_the_request()
    {
        // "After a resumable online index create operation is paused, the initial value of MAXDOP can't be changed".
        var alters = IndexStatements().Where(x => x.Statement is AlterIndexStatement { AlterIndexType: AlterIndexType.Resume }).ToList();
        Assert.NotEmpty(alters);
        Assert.All(alters, x => Assert.Equal(2,
            IntValue(((IndexExpressionOption)Option(x.Statement, IndexOptionKind.MaxDop)!).Expression)));
    }

    [Fact]
    public void A_filter_predicate_compares_columns_with_literals_only_never_a_parameter()
    {
        // A filtered index's predicate takes constants ("simple comparison logic"), not variables.
        // https://learn.microsoft.com/sql/relational-databases/indexes/create-filtered-indexes
        foreach (var (name, statement) in IndexStatements())
            if (statement is CreateIndexStatement { FilterPredicate: { } filter })
                Assert.False(new VariableFinder().Finds(filter), name);
    }

    [Fact]
    public void Index_builds_run_outside_any_explicit_transaction()
    {
        // "The DDL command with RESUMABLE = ON can't be executed inside an explicit transaction"; the engine runs each
        // phase-2 statement on its own, so none may open one.
        foreach (var (name, statement) in EveryStatement().Where(x => x.Name.StartsWith("BuildFilteredIndex", StringComparison.Ordinal)))
            Assert.Empty(Statements<BeginTransactionStatement>(Parse(statement.Text, name)));
    }

    [Fact]
    public void The_application_lock_is_taken_and_released_under_the_name_cut_to_255_characters()
    {
        // sp_getapplock: @Resource is nvarchar(255), longer names are truncated, and names compare in binary.
        foreach (var statement in new[]
                 { Dialect.TryAcquireAppLockText(), Dialect.ReleaseAppLockText(), Dialect.CreateControlTables(Control)[0] })
        {
            var script = Parse(statement.Text, "applock");
            var declared = Statements<DeclareVariableStatement>(script).SelectMany(d => d.Declarations)
                .Single(d => d.VariableName.Value == "@lock_name");
            var type = Assert.IsType<SqlDataTypeReference>(declared.DataType);
            Assert.Equal(SqlDataTypeOption.NVarChar, type.SqlDataTypeOption);
            Assert.Equal("255", ((Literal)type.Parameters.Single()).Value);
            Assert.Contains("LOWER(@resource)", statement.Text, StringComparison.Ordinal);
            Assert.Contains("@Resource = @lock_name", statement.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("@Resource = @resource", statement.Text, StringComparison.Ordinal);
        }
        // 190 characters kept + "~" + 64 hex digits of SHA-256 = 255.
        Assert.Equal(255, 190 + 1 + 64);
    }

    private sealed class VariableFinder : TSqlFragmentVisitor
    {
        private bool _found;
        public override void Visit(VariableReference node) => _found = true;
        public bool Finds(TSqlFragment fragment)
        {
            fragment.Accept(this);
            return _found;
        }
    }
}

/// <summary>
/// The SQL text a batch runs dynamically: EXEC('...') strings, and the statement of sp_executesql, given as a literal or
/// as a variable declared in the batch from a concatenation. A part that is not a literal (a variable holding an object
/// name) becomes <see cref="Placeholder"/>, so the text around it still parses.
/// </summary>
internal sealed class DynamicSql : TSqlFragmentVisitor
{
    public const string Placeholder = "[dynamic_name]";
    private readonly Dictionary<string, ScalarExpression> _declared = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _found = [];

    public static IReadOnlyList<string> Extract(TSqlFragment script)
    {
        var visitor = new DynamicSql();
        script.Accept(visitor);
        return visitor._found;
    }

    public override void Visit(DeclareVariableElement node)
    {
        if (node.Value is not null) _declared[node.VariableName.Value] = node.Value;
    }

    public override void Visit(ExecuteSpecification node)
    {
        switch (node.ExecutableEntity)
        {
            case ExecutableStringList list:
                _found.Add(string.Concat(list.Strings.Select(Text)));
                break;
            case ExecutableProcedureReference { ProcedureReference.ProcedureReference.Name: var name } procedure
                when name.BaseIdentifier.Value.Equals("sp_executesql", StringComparison.OrdinalIgnoreCase):
                _found.Add(Text(procedure.Parameters[0].ParameterValue));
                break;
        }
    }

    private string Text(ScalarExpression expression) => expression switch
    {
        StringLiteral literal => literal.Value,
        BinaryExpression { BinaryExpressionType: BinaryExpressionType.Add } add => Text(add.FirstExpression) + Text(add.SecondExpression),
        VariableReference variable when _declared.TryGetValue(variable.Name, out var value) && value is not CaseExpression => Text(value),
        _ => Placeholder,
    };
}
