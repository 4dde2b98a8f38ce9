using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.Engine.Tests.Backfill.PostgreSql;

/// <summary>The exact text PostgreSQL receives for the fhir profile (schema public, control schema partitionops).</summary>
public sealed class PostgreSqlBackfillDialectGoldenTests
{
    private static readonly PostgreSqlBackfillDialect Dialect = new();
    private static readonly BackfillTable Fhir = new("public", BackfillProfile.Fhir, "partitionops");
    private static readonly FilteredIndex SystemIndex = new(BackfillProfile.Fhir.SystemIndexName, BackfillProfile.Fhir.IndexColumns, 1);

    [Fact]
    public void Phase_1_adds_the_column_with_a_constant_default_and_no_check() =>
        Assert.Equal("""ALTER TABLE "public"."Resource" ADD COLUMN IF NOT EXISTS "PartitionId" smallint NOT NULL DEFAULT 2""",
            Dialect.AddPartitionColumn(Fhir).Text);

    [Fact]
    public void Lock_timeout_is_in_milliseconds() =>
        Assert.Equal("SET lock_timeout = '2000ms'", Dialect.SetLockTimeout(TimeSpan.FromSeconds(2)).Text);

    [Fact]
    public void A_plain_table_gets_one_concurrent_partial_unique_index() =>
        Assert.Equal(
            ["""CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" """ +
                """ON "public"."Resource" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1"""],
            Dialect.BuildFilteredIndex(Fhir, SystemIndex, [], [], new IndexBuildOptions()).Select(s => s.Text));

    [Fact]
    public void An_invalid_index_left_by_a_failed_build_is_dropped_and_rebuilt()
    {
        var invalid = new IndexState("public", "Resource", SystemIndex.Name, IsValid: false, IsPaused: false);
        Assert.Equal(
            [
                """DROP INDEX CONCURRENTLY IF EXISTS "public"."IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" """.TrimEnd(),
                """CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version" """ +
                    """ON "public"."Resource" ("ResourceTypeId", "ResourceId", "Version") WHERE "PartitionId" = 1""",
            ],
            Dialect.BuildFilteredIndex(Fhir, SystemIndex, [invalid], [], new IndexBuildOptions()).Select(s => s.Text));
    }

    [Fact]
    public void A_valid_index_needs_nothing() =>
        Assert.Empty(Dialect.BuildFilteredIndex(Fhir, SystemIndex, [new("public", "Resource", SystemIndex.Name, true, false)], [],
            new IndexBuildOptions()));

    [Fact]
    public void A_partitioned_table_builds_on_only_the_parent_then_each_partition_concurrently_and_attaches()
    {
        TablePartition p1 = new("public", "Resource_1"), p2 = new("public", "Resource_2");
        var child1 = PostgreSqlBackfillDialect.PartitionIndexName(SystemIndex.Name, p1);
        var child2 = PostgreSqlBackfillDialect.PartitionIndexName(SystemIndex.Name, p2);
        // Partition 1 finished in an earlier run; partition 2 was left invalid by a cancelled build.
        IndexState[] existing =
        [
            new("public", "Resource", SystemIndex.Name, false, false),
            new("public", "Resource_1", child1, true, false),
            new("public", "Resource_2", child2, false, false),
        ];
        var columns = "(\"ResourceTypeId\", \"ResourceId\", \"Version\") WHERE \"PartitionId\" = 1";
        Assert.Equal(
            [
                $"""ALTER INDEX "public"."{SystemIndex.Name}" ATTACH PARTITION "public"."{child1}" """.TrimEnd(),
                $"""DROP INDEX CONCURRENTLY IF EXISTS "public"."{child2}" """.TrimEnd(),
                $"""CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{child2}" ON "public"."Resource_2" {columns}""",
                $"""ALTER INDEX "public"."{SystemIndex.Name}" ATTACH PARTITION "public"."{child2}" """.TrimEnd(),
            ],
            Dialect.BuildFilteredIndex(Fhir, SystemIndex, existing, [p1, p2], new IndexBuildOptions()).Select(s => s.Text));

        var fresh = Dialect.BuildFilteredIndex(Fhir, SystemIndex, [], [p1], new IndexBuildOptions()).Select(s => s.Text).ToList();
        Assert.Equal($"""CREATE UNIQUE INDEX IF NOT EXISTS "{SystemIndex.Name}" ON ONLY "public"."Resource" {columns}""", fresh[0]);
        Assert.Equal(3, fresh.Count);
    }

    [Fact]
    public void Sub_partitioned_tables_get_an_on_only_index_and_attach_after_their_leaves_deepest_first()
    {
        TablePartition top = new("public", "Resource_user") { IsLeaf = false, ParentSchema = "public", ParentName = "Resource" };
        TablePartition mid = new("public", "Resource_user_high") { IsLeaf = false, ParentSchema = "public", ParentName = "Resource_user",
            Level = 2 };
        TablePartition low = new("public", "Resource_user_low") { ParentSchema = "public", ParentName = "Resource_user", Level = 2 };
        TablePartition deep = new("public", "Resource_user_high_h0") { ParentSchema = "public", ParentName = "Resource_user_high",
            Level = 3 };
        string I(TablePartition p) => PostgreSqlBackfillDialect.PartitionIndexName(SystemIndex.Name, p);
        var columns = "(\"ResourceTypeId\", \"ResourceId\", \"Version\") WHERE \"PartitionId\" = 1";
        Assert.Equal(
            [
                $"""CREATE UNIQUE INDEX IF NOT EXISTS "{SystemIndex.Name}" ON ONLY "public"."Resource" {columns}""",
                $"""CREATE UNIQUE INDEX IF NOT EXISTS "{I(top)}" ON ONLY "public"."Resource_user" {columns}""",
                $"""CREATE UNIQUE INDEX IF NOT EXISTS "{I(mid)}" ON ONLY "public"."Resource_user_high" {columns}""",
                $"""CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{I(low)}" ON "public"."Resource_user_low" {columns}""",
                $"""ALTER INDEX "public"."{I(top)}" ATTACH PARTITION "public"."{I(low)}" """.TrimEnd(),
                $"""CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{I(deep)}" ON "public"."Resource_user_high_h0" {columns}""",
                $"""ALTER INDEX "public"."{I(mid)}" ATTACH PARTITION "public"."{I(deep)}" """.TrimEnd(),
                $"""ALTER INDEX "public"."{I(top)}" ATTACH PARTITION "public"."{I(mid)}" """.TrimEnd(),
                $"""ALTER INDEX "public"."{SystemIndex.Name}" ATTACH PARTITION "public"."{I(top)}" """.TrimEnd(),
            ],
            Dialect.BuildFilteredIndex(Fhir, SystemIndex, [], [top, low, mid, deep], new IndexBuildOptions()).Select(s => s.Text));

        // Rerun after a stop: the middle level is complete (valid), so nothing below it is touched; it is only
        // attached (again: attaching an attached index does nothing), then the level above.
        IndexState[] existing =
        [
            new("public", "Resource", SystemIndex.Name, false, false),
            new("public", "Resource_user", I(top), false, false),
            new("public", "Resource_user_low", I(low), true, false),
            new("public", "Resource_user_high", I(mid), true, false),
            new("public", "Resource_user_high_h0", I(deep), true, false),
        ];
        Assert.Equal(
            [
                $"""ALTER INDEX "public"."{I(top)}" ATTACH PARTITION "public"."{I(low)}" """.TrimEnd(),
                $"""ALTER INDEX "public"."{I(top)}" ATTACH PARTITION "public"."{I(mid)}" """.TrimEnd(),
                $"""ALTER INDEX "public"."{SystemIndex.Name}" ATTACH PARTITION "public"."{I(top)}" """.TrimEnd(),
            ],
            Dialect.BuildFilteredIndex(Fhir, SystemIndex, existing, [top, low, mid, deep], new IndexBuildOptions()).Select(s => s.Text));
    }

    [Fact]
    public void Partition_index_names_fit_63_characters_are_stable_and_distinct()
    {
        var a = PostgreSqlBackfillDialect.PartitionIndexName(SystemIndex.Name, new("public", "Resource_1"));
        var b = PostgreSqlBackfillDialect.PartitionIndexName(SystemIndex.Name, new("public", "Resource_2"));
        Assert.True(a.Length <= 63, a);
        Assert.NotEqual(a, b);
        Assert.Equal(a, PostgreSqlBackfillDialect.PartitionIndexName(SystemIndex.Name, new("public", "Resource_1")));
        Assert.StartsWith("IX_Resource_SystemPartition_ResourceTypeId_ResourceId_", a);
    }

    [Fact]
    public void An_index_name_postgresql_would_truncate_is_refused()
    {
        var tooLong = SystemIndex with { Name = new string('x', 64) };
        Assert.Throws<InvalidRequestException>(() => Dialect.BuildFilteredIndex(Fhir, tooLong, [], [], new IndexBuildOptions()));
    }

    [Fact]
    public void A_batch_walks_one_key_range_and_moves_its_checkpoint_in_the_same_statement() =>
        Assert.Equal("""
            WITH next_range AS (
                SELECT max(k) AS range_end, count(*)::int AS rows_scanned
                FROM (SELECT "ResourceSurrogateId" AS k
                      FROM "public"."Resource"
                      WHERE "ResourceTypeId" = @type_id AND "ResourceSurrogateId" > @last_key AND "ResourceSurrogateId" <= @high_water_mark
                      ORDER BY "ResourceSurrogateId"
                      LIMIT @batch_size) AS next_keys),
            updated AS (
                UPDATE "public"."Resource" AS r
                SET "PartitionId" = @target_value
                WHERE r."ResourceTypeId" = @type_id AND r."ResourceSurrogateId" > @last_key
                  AND r."ResourceSurrogateId" <= (SELECT range_end FROM next_range)
                  AND r."PartitionId" <> @target_value
                RETURNING 1),
            counted AS (SELECT count(*)::int AS rows_updated FROM updated),
            checkpoint AS (
                UPDATE "partitionops".backfill_checkpoint AS c
                SET last_key = next_range.range_end, rows_scanned = c.rows_scanned + next_range.rows_scanned,
                    rows_updated = c.rows_updated + counted.rows_updated, batches = c.batches + 1, updated_at = now()
                FROM next_range, counted
                WHERE c.run_id = @run_id AND c.type_id = @type_id AND next_range.range_end IS NOT NULL)
            SELECT next_range.range_end, next_range.rows_scanned, counted.rows_updated
            FROM next_range, counted
            """, Dialect.BatchText(Fhir).Text);

    [Fact]
    public void The_sweep_matches_the_source_value_so_the_filtered_index_finds_stragglers()
    {
        var sweep = Dialect.SweepText(Fhir).Text;
        Assert.Contains("""WHERE "ResourceTypeId" = @type_id AND "ResourceSurrogateId" <= @upto_key AND "PartitionId" = @source_value""",
            sweep);
        Assert.Contains("""SET "PartitionId" = @target_value""", sweep);
        Assert.Contains("LIMIT @batch_size", sweep);
        Assert.Contains("counted.rows_updated > 0", sweep);
    }

    [Fact]
    public void Validation_is_the_spec_s_two_checks_in_one_scan_with_parameters() =>
        Assert.Equal("""
            SELECT "ResourceTypeId"::int AS type_id, count(*) AS misplaced_rows
            FROM "public"."Resource"
            WHERE ("ResourceTypeId" IN (@sys_0, @sys_1) AND "PartitionId" <> @system_value)
               OR ("ResourceTypeId" NOT IN (@sys_0, @sys_1) AND "PartitionId" <> @default_value)
            GROUP BY "ResourceTypeId"
            """, Dialect.MisplacedText(Fhir, 2).Text);

    [Fact]
    public void Application_locks_are_session_advisory_locks_on_a_hash_of_the_name()
    {
        Assert.Equal("SELECT CASE WHEN pg_try_advisory_lock(hashtextextended(@resource, 0)) THEN 1 ELSE 0 END",
            Dialect.TryAcquireAppLockText().Text);
        Assert.Equal("SELECT pg_advisory_unlock(hashtextextended(@resource, 0))", Dialect.ReleaseAppLockText().Text);
        Assert.Equal("partitionops.backfill.public.Resource.PartitionId.ValueSet", Fhir.LockResource("ValueSet"));
    }

    [Fact]
    public void Control_tables_are_created_idempotently_in_the_control_schema()
    {
        var statements = Dialect.CreateControlTables("partitionops");
        var ddl = statements.Select(s => s.Text).ToList();
        // First a transaction-level advisory lock on the schema's name: concurrent creators go one at a time.
        Assert.Equal("SELECT pg_advisory_xact_lock(hashtextextended(@resource, 0)), set_config('partitionops.control_schema', " +
            "@control_schema, true)", ddl[0]);
        Assert.Equal([new SqlParameter("resource", "partitionops.control.partitionops"),
            new SqlParameter("control_schema", "partitionops")], statements[0].Parameters);
        // The schema only when missing (IF NOT EXISTS alone would demand CREATE on the database), named from the setting.
        Assert.StartsWith("DO $$", ddl[1]);
        Assert.Contains("IF to_regnamespace(quote_ident(current_setting('partitionops.control_schema'))) IS NULL THEN", ddl[1]);
        Assert.Contains("EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', current_setting('partitionops.control_schema'));", ddl[1]);
        Assert.DoesNotContain("partitionops\"", ddl[1]);
        Assert.All(ddl.Skip(2).Take(4), s => Assert.StartsWith("CREATE TABLE IF NOT EXISTS \"partitionops\".", s));
        Assert.Contains("PRIMARY KEY (run_id, type_id)", ddl[4]);
        Assert.EndsWith("ON CONFLICT (component) DO NOTHING", ddl[6]);
    }
}
