using System.Text.RegularExpressions;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Backfill;

/// <summary>
/// The typed backfill dialect contract: each method takes its values and returns the statement with them bound, under
/// the names its text reads (the golden tests check the text itself, through the dialects' ...Text methods).
/// </summary>
public sealed class TypedBackfillDialectTests
{
    private static readonly BackfillTable Fhir = new("dbo", BackfillProfile.Fhir, "partitionops");
    private static readonly ResolvedType ValueSet = new("ValueSet", 4);

    private static IEnumerable<(string Name, SqlStatement Statement)> Typed(IBackfillDialect d)
    {
        yield return (nameof(d.InsertRun), d.InsertRun(Fhir, "backfill", "host:1", "batch_size=1000"));
        yield return (nameof(d.LatestRun), d.LatestRun(Fhir));
        yield return (nameof(d.SetRunStatus), d.SetRunStatus("partitionops", 7, BackfillStatus.Done, ended: true, "host:1"));
        yield return (nameof(d.InsertCheckpoint), d.InsertCheckpoint("partitionops", 7, ValueSet, 1, Checkpoint.StartKey, 900, null));
        yield return (nameof(d.ReadCheckpoints), d.ReadCheckpoints("partitionops", 7));
        yield return (nameof(d.UpdateCheckpointStatus), d.UpdateCheckpointStatus("partitionops", 7, 4, BackfillStatus.Failed, "host:1", 900,
            "trigger refused"));
        yield return (nameof(d.AddLockWaits), d.AddLockWaits("partitionops", 7, 4, 1));
        yield return (nameof(d.SetStopFlag), d.SetStopFlag(Fhir, stop: true, "host:1"));
        yield return (nameof(d.ReadStopFlag), d.ReadStopFlag(Fhir));
        yield return (nameof(d.TryAcquireAppLock), d.TryAcquireAppLock(Fhir.LockResource("ValueSet")));
        yield return (nameof(d.ReleaseAppLock), d.ReleaseAppLock(Fhir.LockResource("ValueSet")));
        yield return (nameof(d.SchemaExists), d.SchemaExists("dbo"));
        yield return (nameof(d.TableInfo), d.TableInfo("dbo", "Resource"));
        yield return (nameof(d.ViewBaseTables), d.ViewBaseTables("dbo", "Resource"));
        yield return (nameof(d.TableRowEstimate), d.TableRowEstimate("dbo", "Resource"));
        yield return (nameof(d.MaxRowBytes), d.MaxRowBytes("dbo", "Resource"));
        yield return (nameof(d.Columns), d.Columns("dbo", "Resource"));
        yield return (nameof(d.Partitions), d.Partitions("dbo", "Resource"));
        yield return (nameof(d.Indexes), d.Indexes("dbo", "Resource"));
        yield return (nameof(d.EstimatedRowsPerType), d.EstimatedRowsPerType(Fhir));
        yield return (nameof(d.Permissions), d.Permissions(Fhir));
        yield return (nameof(d.HighWaterMark), d.HighWaterMark(Fhir, 4));
        yield return (nameof(d.Batch), d.Batch(Fhir, 7, 4, 100, 900, 50, 1));
        yield return (nameof(d.Sweep), d.Sweep(Fhir, 7, 4, 900, 50, 1, 2));
        yield return (nameof(d.ExactCounts), d.ExactCounts(Fhir));
        yield return (nameof(d.Misplaced), d.Misplaced(Fhir, [4, 5, 6]));
        yield return (nameof(d.MisplacedSinceRun), d.MisplacedSinceRun(Fhir, [4, 5, 6], 7));
    }

    public static TheoryData<string> Engines() => new() { "sqlserver", "postgresql" };

    private static IBackfillDialect Dialect(string engine) =>
        engine == "sqlserver" ? new SqlServerBackfillDialect() : new PostgreSqlBackfillDialect();

    /// <summary>@names a statement reads, minus its own DECLAREd variables and system procedure argument names.</summary>
    private static IEnumerable<string> Reads(string text)
    {
        var declared = Regex.Matches(text, @"DECLARE\s+([^;]+);")
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, @"(?:^|,)\s*@(\w+)").Select(v => v.Groups[1].Value));
        var procArguments = new[] { "Resource", "LockMode", "LockOwner", "LockTimeout", "v" };
        return Regex.Matches(text, @"(?<![@\w])@(\w+)").Select(m => m.Groups[1].Value)
            .Except(declared).Except(procArguments).Distinct();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Every_typed_statement_binds_each_parameter_its_text_reads_once(string engine)
    {
        var statements = Typed(Dialect(engine)).ToList();
        Assert.Equal(27, statements.Count);
        foreach (var (name, statement) in statements)
        {
            var bound = statement.Parameters.Select(p => p.Name).ToList();
            Assert.True(bound.Count == bound.Distinct(StringComparer.Ordinal).Count(), $"{engine} {name}: a name is bound twice");
            foreach (var read in Reads(statement.Text))
                Assert.True(bound.Contains(read, StringComparer.Ordinal), $"{engine} {name}: @{read} is read but not bound");
        }
    }

    [Fact]
    public void A_batch_carries_the_values_it_was_given_and_the_same_text_as_before()
    {
        var dialect = new SqlServerBackfillDialect();
        var batch = dialect.Batch(Fhir, runId: 7, typeId: 4, lastKey: 100, highWaterMark: 900, batchSize: 50, targetValue: 1);
        Assert.Equal(dialect.BatchText(Fhir).Text, batch.Text);
        Assert.Equal(
            [("run_id", 7L), ("type_id", 4), ("last_key", 100L), ("high_water_mark", 900L), ("batch_size", 50), ("target_value", 1)],
            batch.Parameters.Select(p => (p.Name, p.Value)).ToArray<(string, object?)>());
    }

    [Fact]
    public void Validation_binds_the_profile_values_and_one_parameter_per_system_type_in_order()
    {
        var statement = new PostgreSqlBackfillDialect().MisplacedSinceRun(Fhir, [4, 5, 6], runId: 7);
        var values = statement.Parameters.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        Assert.Equal(7L, values["run_id"]);
        Assert.Equal(Fhir.Profile.SystemValue, values["system_value"]);
        Assert.Equal(Fhir.Profile.DefaultValue, values["default_value"]);
        Assert.Equal([4, 5, 6], new[] { values["sys_0"], values["sys_1"], values["sys_2"] });
        Assert.False(values.ContainsKey("sys_3"));
    }

    [Fact]
    public void Run_and_stop_flag_statements_are_keyed_by_the_table_schema_name_and_column()
    {
        var stop = new SqlServerBackfillDialect().SetStopFlag(Fhir, stop: true, requestedBy: "host:1");
        var values = stop.Parameters.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        Assert.Equal("dbo", values["table_schema"]);
        Assert.Equal("Resource", values["table_name"]);
        Assert.Equal(Fhir.Profile.PartitionColumn, values["column_name"]);
        Assert.Equal(1, values["stop_requested"]);
        Assert.Equal("host:1", values["requested_by"]);
        var ended = new SqlServerBackfillDialect().SetRunStatus("partitionops", 7, BackfillStatus.Paused, ended: true, "h");
        Assert.Equal(1, ended.Parameters.Single(p => p.Name == "ended").Value);
    }
}
