using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.Engine.Tests.Ilm;

/// <summary>Golden SQL of the PostgreSQL ILM dialect: the exact text that would run.</summary>
public sealed class PostgreSqlIlmDialectTests
{
    private static readonly PostgreSqlIlmDialect D = PostgreSqlIlmDialect.Instance;

    private static readonly PartitionLayout Sales = new()
    {
        Schema = "public",
        Table = "sales",
        PartitionKey = "sale_date",
        Columns = ["id", "sale_date", "amount"],
        Partitions = [new PartitionInfo { Name = "p_2023" }],
    };

    [Fact]
    public void Provider_exposes_the_dialect()
    {
        Assert.Same(D, PostgreSqlProvider.Instance.Ilm);
    }

    [Fact]
    public void Lock_timeout_is_a_bound_setting()
    {
        var s = D.SetLockTimeout(30);
        Assert.Equal("SELECT set_config('lock_timeout', @lock_timeout, false)", s.Text);
        Assert.Equal("30s", Assert.Single(s.Parameters).Value);
    }

    [Fact]
    public void Move_is_set_tablespace()
    {
        var move = new MoveAction("p_2023_11", "tbs_hot", "tbs_warm", "BASIC", IlmTier.Warm, 100);
        Assert.Equal("ALTER TABLE \"public\".\"p_2023_11\" SET TABLESPACE \"tbs_warm\"",
            Assert.Single(D.Move(Sales, move, online: true)).Text);
    }

    private static readonly MergeAction Merge2023 = new("p_2023", ["p_2023", "p_2023_11", "p_2023_12"], IlmTier.Warm, "tbs_warm", "BASIC",
        new DateTime(2023, 1, 1), new DateTime(2024, 1, 1), "tbs_warm", 1000, 200, 200);

    [Fact]
    public void Rebuild_copies_beside_under_share_locks_then_swaps_under_brief_exclusive_locks()
    {
        var script = D.Merge(Sales, Merge2023, online: false, MergeMethod.Rebuild);
        Assert.Empty(script.Prepare);
        Assert.Contains("d.refobjid = ANY (@sources::text[]::regclass[])", Assert.Single(script.Checks).Text);
        Assert.Equal(["\"public\".\"p_2023\"", "\"public\".\"p_2023_11\"", "\"public\".\"p_2023_12\""],
            (string[])script.Checks[0].Parameters.Single(p => p.Name == "sources").Value!);
        Assert.Equal(["LOCK TABLE \"public\".\"p_2023\", \"public\".\"p_2023_11\", \"public\".\"p_2023_12\" IN SHARE MODE"],
            script.Lock.Select(s => s.Text));
        Assert.Equal(
        [
            "SET LOCAL default_tablespace = \"tbs_warm\"",
            "CREATE TABLE \"public\".\"p_2023_ilm_rebuild\" (LIKE \"public\".\"sales\" INCLUDING DEFAULTS INCLUDING CONSTRAINTS " +
            "INCLUDING INDEXES " +
            "INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING GENERATED, CONSTRAINT \"partitionops_ilm_bound\" " +
            "CHECK (\"sale_date\" IS NOT NULL AND \"sale_date\" >= '2023-01-01' AND \"sale_date\" < '2024-01-01')) TABLESPACE \"tbs_warm\"",
            "COMMENT ON TABLE \"public\".\"p_2023_ilm_rebuild\" IS 'partitionops ILM rebuild for public.sales'",
            "INSERT INTO \"public\".\"p_2023_ilm_rebuild\" (\"id\", \"sale_date\", \"amount\") SELECT \"id\", \"sale_date\", \"amount\" " +
            "FROM \"public\".\"p_2023\"",
            "INSERT INTO \"public\".\"p_2023_ilm_rebuild\" (\"id\", \"sale_date\", \"amount\") SELECT \"id\", \"sale_date\", \"amount\" " +
            "FROM \"public\".\"p_2023_11\"",
            "INSERT INTO \"public\".\"p_2023_ilm_rebuild\" (\"id\", \"sale_date\", \"amount\") SELECT \"id\", \"sale_date\", \"amount\" " +
            "FROM \"public\".\"p_2023_12\"",
            "ANALYZE \"public\".\"p_2023_ilm_rebuild\"",
        ], script.Merge.Select(s => s.Text));
        Assert.Equal(["p_2023", "p_2023_11", "p_2023_12"],
            script.Merge.Where(s => script.Copies.ContainsKey(s.Text)).Select(s => script.Copies[s.Text]));
        Assert.Equal(
        [
            "LOCK TABLE \"public\".\"p_2023\", \"public\".\"p_2023_11\", \"public\".\"p_2023_12\" IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE ONLY \"public\".\"sales\" IN ACCESS EXCLUSIVE MODE",
        ], script.SwapLock.Select(s => s.Text));
        Assert.Contains("NOT w.granted", script.SwapGuard!.Text);
        Assert.StartsWith("DO $partitionops$", script.Swap[0].Text);
        Assert.Contains("WHERE i.indrelid = '\"public\".\"p_2023\"'::regclass", script.Swap[0].Text);
        Assert.Equal(
        [
            "ALTER TABLE \"public\".\"sales\" DETACH PARTITION \"public\".\"p_2023\"",
            "ALTER TABLE \"public\".\"sales\" DETACH PARTITION \"public\".\"p_2023_11\"",
            "ALTER TABLE \"public\".\"sales\" DETACH PARTITION \"public\".\"p_2023_12\"",
            "DROP TABLE \"public\".\"p_2023\"",
            "DROP TABLE \"public\".\"p_2023_11\"",
            "DROP TABLE \"public\".\"p_2023_12\"",
            "ALTER TABLE \"public\".\"sales\" ATTACH PARTITION \"public\".\"p_2023_ilm_rebuild\" FOR VALUES FROM ('2023-01-01') TO " +
            "('2024-01-01')",
            "ALTER TABLE \"public\".\"p_2023_ilm_rebuild\" DROP CONSTRAINT \"partitionops_ilm_bound\"",
            "COMMENT ON TABLE \"public\".\"p_2023_ilm_rebuild\" IS NULL",
            "ALTER TABLE \"public\".\"p_2023_ilm_rebuild\" RENAME TO \"p_2023\"",
        ], script.Swap.Skip(1).Select(s => s.Text));
        Assert.Equal(["SAVEPOINT partitionops_lock", "SET LOCAL lock_timeout = '300ms'"], script.Retry!.Begin.Select(s => s.Text));
        Assert.Equal("ROLLBACK TO SAVEPOINT partitionops_lock", script.Retry.Undo.Text);
        Assert.True(script.Retry.AttemptTimeout < TimeSpan.FromSeconds(1));
        // The method is rebuild unless asked otherwise.
        Assert.Equal(script.All.Select(s => s.Text), D.Merge(Sales, Merge2023, online: false).All.Select(s => s.Text));
    }

    private static readonly PartitionLayout KeyedSales = Sales with { KeyColumns = ["id", "sale_date"] };

    [Fact]
    public void Rebuild_of_a_keyed_table_captures_changes_instead_of_holding_writers_back_for_the_copy()
    {
        var script = D.Merge(KeyedSales, Merge2023, online: false, MergeMethod.Rebuild);
        const string Log = "\"public\".\"p_2023_ilm_log\"";
        const string Fn = "\"public\".\"p_2023_ilm_capture\"()";
        Assert.Empty(script.Prepare);
        Assert.Empty(script.Lock);
        Assert.Null(script.SwapGuard);
        Assert.Equal($"CREATE TABLE {Log} (id bigserial PRIMARY KEY, old_row jsonb, new_row jsonb)", script.Capture[0].Text);
        Assert.Equal($"COMMENT ON TABLE {Log} IS 'partitionops ILM change log for public.sales'", script.Capture[1].Text);
        Assert.StartsWith($"CREATE FUNCTION {Fn} RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER", script.Capture[2].Text);
        Assert.Contains($"INSERT INTO {Log} (old_row, new_row) VALUES (", script.Capture[2].Text);
        Assert.Contains("RAISE EXCEPTION", script.Capture[2].Text);
        Assert.Equal($"COMMENT ON FUNCTION {Fn} IS 'partitionops ILM change capture for public.sales'", script.Capture[3].Text);
        Assert.Equal(
        [
            "CREATE TRIGGER \"partitionops_ilm_capture\" AFTER INSERT OR UPDATE OR DELETE ON \"public\".\"p_2023\" " +
            $"FOR EACH ROW EXECUTE FUNCTION {Fn}",
            $"CREATE TRIGGER \"partitionops_ilm_no_truncate\" BEFORE TRUNCATE ON \"public\".\"p_2023\" FOR EACH STATEMENT EXECUTE " +
            $"FUNCTION {Fn}",
        ], script.Capture.Skip(4).Take(2).Select(s => s.Text));
        Assert.Equal(4 + 2 * 3, script.Capture.Count);

        // The copy: one snapshot, the log entries it already holds deleted, then the SHARE-less copy of the usual path.
        Assert.Equal(
            ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", $"DELETE FROM {Log}", "SET LOCAL default_tablespace = \"tbs_warm\""],
            script.Merge.Take(3).Select(s => s.Text));
        Assert.Equal(["p_2023", "p_2023_11", "p_2023_12"],
            script.Merge.Where(s => script.Copies.ContainsKey(s.Text)).Select(s => script.Copies[s.Text]));
        Assert.Equal("ANALYZE \"public\".\"p_2023_ilm_rebuild\"", script.Merge[^1].Text);

        // Catch-up: one batch per transaction; keys touched deleted, each key's last state inserted, the batch deleted.
        var batch = $"l.id <= (SELECT max(id) FROM (SELECT id FROM {Log} ORDER BY id LIMIT 10000) batch)";
        Assert.Equal(4, script.CatchUp.Count);
        Assert.EndsWith("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", script.CatchUp[0].Text);
        Assert.Contains("fewer than 1000 changes (at most 20 times)", script.CatchUp[0].Text);
        Assert.Equal((1000, 20), (script.CatchUpThreshold, script.MaxCatchUpRounds));
        Assert.Equal($"""
            DELETE FROM "public"."p_2023_ilm_rebuild" t USING (
                SELECT DISTINCT k."id", k."sale_date"
                FROM {Log} l
                CROSS JOIN LATERAL (VALUES (l.old_row), (l.new_row)) AS c (row_json)
                CROSS JOIN LATERAL jsonb_populate_record(NULL::"public"."sales", c.row_json) AS k
                WHERE c.row_json IS NOT NULL AND {batch}
            ) touched
            WHERE t."id" = touched."id" AND t."sale_date" = touched."sale_date"
            """, script.CatchUp[1].Text);
        Assert.Equal($"""
            INSERT INTO "public"."p_2023_ilm_rebuild" ("id", "sale_date", "amount")
            SELECT "id", "sale_date", "amount" FROM (
                SELECT DISTINCT ON (k."id", k."sale_date") c.is_new AS partitionops_is_new, k.*
                FROM {Log} l
                CROSS JOIN LATERAL (VALUES (l.old_row, false), (l.new_row, true)) AS c (row_json, is_new)
                CROSS JOIN LATERAL jsonb_populate_record(NULL::"public"."sales", c.row_json) AS k
                WHERE c.row_json IS NOT NULL AND {batch}
                ORDER BY k."id", k."sale_date", l.id DESC, c.is_new DESC
            ) last_change
            WHERE partitionops_is_new
            """, script.CatchUp[2].Text);
        Assert.Equal($"DELETE FROM {Log} l WHERE {batch}", script.CatchUp[3].Text);

        // The swap: the usual lock tries, the rest of the log, the usual swap, the capture dropped.
        Assert.Equal(
        [
            "LOCK TABLE \"public\".\"p_2023\", \"public\".\"p_2023_11\", \"public\".\"p_2023_12\" IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE ONLY \"public\".\"sales\" IN ACCESS EXCLUSIVE MODE",
        ], script.SwapLock.Select(s => s.Text));
        Assert.Equal(3, script.Drain.Count);
        Assert.Contains("WHERE c.row_json IS NOT NULL\n", script.Drain[0].Text);
        Assert.DoesNotContain("LIMIT", script.Drain[1].Text);
        Assert.Equal($"DELETE FROM {Log}", script.Drain[2].Text);
        Assert.Equal(["ALTER TABLE \"public\".\"p_2023_ilm_rebuild\" RENAME TO \"p_2023\"", $"DROP FUNCTION {Fn} CASCADE", $"DROP TABLE " +
            $"{Log}"],
            script.Swap.TakeLast(3).Select(s => s.Text));
        Assert.NotNull(script.Retry);

        // After a failure: the function first (its triggers go with it), then the log, then the rebuild table, each tried briefly.
        Assert.Equal(3, script.Cleanup.Count);
        Assert.Contains($"DROP FUNCTION IF EXISTS {Fn} CASCADE;", script.Cleanup[0].Text);
        Assert.Contains($"DROP TABLE IF EXISTS {Log};", script.Cleanup[1].Text);
        Assert.Contains("DROP TABLE IF EXISTS \"public\".\"p_2023_ilm_rebuild\";", script.Cleanup[2].Text);
        Assert.All(script.Cleanup, s => Assert.Contains("SET LOCAL lock_timeout = '300ms'", s.Text));
        Assert.All(script.Cleanup, s => Assert.Contains("EXCEPTION WHEN lock_not_available", s.Text));

        // Plan text: every statement in the order it runs.
        Assert.Equal(script.Checks.Concat(script.Capture).Concat(script.Merge).Concat(script.CatchUp).Concat(script.SwapLock)
            .Concat(script.Drain).Concat(script.Swap).Select(s => s.Text), script.All.Select(s => s.Text));
    }

    [Fact]
    public void A_keyed_rebuild_move_captures_too_and_a_layout_without_keys_keeps_the_share_lock_copy()
    {
        var part = new PartitionInfo { Name = "p_2023_11", LowerBound = new DateTime(2023, 11, 1), UpperBound = new DateTime(2023, 12, 1) };
        var move = new MoveAction("p_2023_11", "tbs_hot", "tbs_warm", "BASIC", IlmTier.Warm, 100);
        var keyed = D.MoveScript(KeyedSales with { Partitions = [part] }, move, online: false, MergeMethod.Rebuild)!;
        Assert.Equal("CREATE TABLE \"public\".\"p_2023_11_ilm_log\" (id bigserial PRIMARY KEY, old_row jsonb, new_row jsonb)",
            keyed.Capture[0].Text);
        Assert.Equal(4 + 2, keyed.Capture.Count);
        Assert.Equal(["p_2023_11"], keyed.Copies.Values);

        var plain = D.MoveScript(Sales with { Partitions = [part] }, move, online: false, MergeMethod.Rebuild)!;
        Assert.Empty(plain.Capture);
        Assert.Empty(plain.CatchUp);
        Assert.Empty(plain.Drain);
        Assert.Equal("LOCK TABLE \"public\".\"p_2023_11\" IN SHARE MODE", Assert.Single(plain.Lock).Text);
        Assert.NotNull(plain.SwapGuard);
        Assert.Empty(plain.Cleanup);
    }

    [Fact]
    public void Capture_object_names_must_fit_in_63_bytes()
    {
        var name = "p_" + new string('x', 52); // 54 bytes: the rebuild table (66) and the capture function (66) do not fit
        var merge = Merge2023 with { TargetName = name, Sources = [name] };
        var e = Assert.Throws<InvalidRequestException>(() => D.Merge(KeyedSales, merge, online: false, MergeMethod.Rebuild));
        Assert.Contains("63 bytes", e.Message);
        var shorter = "p_" + new string('x', 49); // 51 + 12 = 63 bytes: fits
        var fits = Merge2023 with { TargetName = shorter, Sources = [shorter] };
        Assert.NotEmpty(D.Merge(KeyedSales, fits, online: false, MergeMethod.Rebuild).Capture);
    }

    [Fact]
    public void Key_columns_come_from_the_primary_key_or_a_unique_index_on_not_null_columns()
    {
        var s = D.KeyColumns("public", "sales")!;
        Assert.Contains("ORDER BY i.indisprimary DESC", s.Text);
        Assert.Contains("NOT na.attnotnull", s.Text);
        Assert.Contains("i.indpred IS NULL AND i.indexprs IS NULL", s.Text);
        Assert.Contains("k.position <= key.indnkeyatts", s.Text);
    }

    [Fact]
    public void In_place_validates_a_wider_check_then_locks_partitions_before_the_parent_and_copies_only_the_months()
    {
        var script = D.Merge(Sales, Merge2023, online: false, MergeMethod.InPlace);
        Assert.Equal(
        [
            "ALTER TABLE \"public\".\"p_2023\" DROP CONSTRAINT IF EXISTS \"partitionops_ilm_bound\"",
            "ALTER TABLE \"public\".\"p_2023\" ADD CONSTRAINT \"partitionops_ilm_bound\" CHECK (\"sale_date\" IS NOT NULL AND " +
            "\"sale_date\" >= '2023-01-01' AND \"sale_date\" < '2024-01-01') NOT VALID",
            "ALTER TABLE \"public\".\"p_2023\" VALIDATE CONSTRAINT \"partitionops_ilm_bound\"",
        ], script.Prepare.Select(s => s.Text));
        Assert.Equal(
        [
            "LOCK TABLE \"public\".\"p_2023\", \"public\".\"p_2023_11\", \"public\".\"p_2023_12\" IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE ONLY \"public\".\"sales\" IN ACCESS EXCLUSIVE MODE",
        ], script.Lock.Select(s => s.Text));
        Assert.NotNull(script.Retry);
        Assert.Equal(
        [
            "ALTER TABLE \"public\".\"sales\" DETACH PARTITION \"public\".\"p_2023\"",
            "INSERT INTO \"public\".\"p_2023\" (\"id\", \"sale_date\", \"amount\") SELECT \"id\", \"sale_date\", \"amount\" FROM " +
            "\"public\".\"p_2023_11\"",
            "INSERT INTO \"public\".\"p_2023\" (\"id\", \"sale_date\", \"amount\") SELECT \"id\", \"sale_date\", \"amount\" FROM " +
            "\"public\".\"p_2023_12\"",
            "DROP TABLE \"public\".\"p_2023_11\"",
            "DROP TABLE \"public\".\"p_2023_12\"",
            "ALTER TABLE \"public\".\"sales\" ATTACH PARTITION \"public\".\"p_2023\" FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')",
            "ALTER TABLE \"public\".\"p_2023\" DROP CONSTRAINT \"partitionops_ilm_bound\"",
        ], script.Merge.Select(s => s.Text));
        Assert.Equal(["p_2023_11", "p_2023_12"], script.Copies.Values.Order());
        Assert.Empty(script.SwapLock);
    }

    [Fact]
    public void In_place_changes_the_head_tablespace_in_its_own_committed_statement_before_any_write()
    {
        var merge = new MergeAction("p_2024", ["p_2024_01", "p_2024_02"], IlmTier.Warm, "tbs_warm", "BASIC",
            null, new DateTime(2024, 3, 1), "tbs_hot", 100, 100, 200);
        var script = D.Merge(Sales, merge, online: false, MergeMethod.InPlace);
        Assert.Equal("ALTER TABLE \"public\".\"p_2024_01\" ADD CONSTRAINT \"partitionops_ilm_bound\" CHECK (\"sale_date\" IS NOT NULL " +
            "AND \"sale_date\" < '2024-03-01') NOT VALID",
            script.Prepare[1].Text);
        // Prepare statements each commit on their own: the tablespace change is never in the transaction that writes.
        Assert.Equal("ALTER TABLE \"public\".\"p_2024_01\" SET TABLESPACE \"tbs_warm\"", script.Prepare[^1].Text);
        Assert.DoesNotContain(script.Lock.Concat(script.Merge), s => s.Text.Contains("SET TABLESPACE"));
        Assert.Equal("ALTER TABLE \"public\".\"sales\" ATTACH PARTITION \"public\".\"p_2024_01\" FOR VALUES FROM (MINVALUE) TO " +
            "('2024-03-01')", script.Merge[^3].Text);
        Assert.Equal("ALTER TABLE \"public\".\"p_2024_01\" RENAME TO \"p_2024\"", script.Merge[^1].Text);
    }

    [Fact]
    public void Rebuild_starting_a_new_year_fills_a_table_named_after_the_target_and_renames_it_so()
    {
        var merge = new MergeAction("p_2024", ["p_2024_01", "p_2024_02"], IlmTier.Warm, "tbs_warm", "BASIC",
            null, new DateTime(2024, 3, 1), "tbs_hot", 100, 100, 200);
        var script = D.Merge(Sales, merge, online: false, MergeMethod.Rebuild);
        Assert.Contains("CREATE TABLE \"public\".\"p_2024_ilm_rebuild\"", script.Merge[1].Text);
        Assert.Contains("CHECK (\"sale_date\" IS NOT NULL AND \"sale_date\" < '2024-03-01')) TABLESPACE \"tbs_warm\"",
            script.Merge[1].Text);
        Assert.Contains("ATTACH PARTITION \"public\".\"p_2024_ilm_rebuild\" FOR VALUES FROM (MINVALUE) TO ('2024-03-01')",
            string.Join("\n", script.Swap.Select(s => s.Text)));
        Assert.Equal("ALTER TABLE \"public\".\"p_2024_ilm_rebuild\" RENAME TO \"p_2024\"", script.Swap[^1].Text);
        Assert.DoesNotContain(script.All, s => s.Text.Contains("SET TABLESPACE"));
    }

    [Fact]
    public void A_rebuild_move_copies_one_partition_into_its_new_tablespace_with_the_same_bound()
    {
        var layout = Sales with
        {
            Partitions =
            [
                new PartitionInfo { Name = "p_2023_11", LowerBound = new DateTime(2023, 11, 1), UpperBound = new DateTime(2023, 12, 1) },
            ],
        };
        var move = new MoveAction("p_2023_11", "tbs_hot", "tbs_warm", "BASIC", IlmTier.Warm, 100);
        var script = D.MoveScript(layout, move, online: false, MergeMethod.Rebuild)!;
        Assert.Contains(") TABLESPACE \"tbs_warm\"", script.Merge[1].Text);
        Assert.Equal(["p_2023_11"], script.Copies.Values);
        Assert.Contains("ATTACH PARTITION \"public\".\"p_2023_11_ilm_rebuild\" FOR VALUES FROM ('2023-11-01') TO ('2023-12-01')",
            string.Join("\n", script.Swap.Select(s => s.Text)));
        Assert.Null(D.MoveScript(layout, move, online: false, MergeMethod.InPlace));
    }

    [Fact]
    public void Leftovers_are_our_marked_tables_that_are_not_partitions_and_our_constraints()
    {
        var s = D.Leftovers("public", "sales")!;
        Assert.Contains("NOT c.relispartition", s.Text);
        Assert.Equal("partitionops ILM rebuild for public.sales", s.Parameters.Single(p => p.Name == "marker").Value);
        Assert.Equal("partitionops ILM change log for public.sales", s.Parameters.Single(p => p.Name == "log_marker").Value);
        Assert.Equal("partitionops ILM change capture for public.sales", s.Parameters.Single(p => p.Name == "capture_marker").Value);
        // Functions before log tables: a trigger whose log table is gone would fail the application's writes.
        Assert.Contains("ORDER BY rank, leftover_name", s.Text);
        Assert.True(s.Text.IndexOf("'function'", StringComparison.Ordinal) < s.Text.IndexOf("'log table'", StringComparison.Ordinal));
        var function = D.DropLeftover("public", "sales", "function", "p_2023_ilm_capture").Text;
        Assert.Contains("DROP FUNCTION IF EXISTS \"public\".\"p_2023_ilm_capture\"() CASCADE;", function);
        Assert.Contains("EXCEPTION WHEN lock_not_available", function);
        Assert.Equal("DROP TABLE IF EXISTS \"public\".\"p_2023_ilm_log\"",
            D.DropLeftover("public", "sales", "log table", "p_2023_ilm_log").Text);
        Assert.Equal("DROP TABLE IF EXISTS \"public\".\"p_2023_ilm_rebuild\"",
            D.DropLeftover("public", "sales", "table", "p_2023_ilm_rebuild").Text);
        Assert.Equal("ALTER TABLE \"public\".\"p_2023\" DROP CONSTRAINT IF EXISTS \"partitionops_ilm_bound\"",
            D.DropLeftover("public", "sales", "constraint", "p_2023").Text);
    }

    [Fact]
    public void Rename_and_count()
    {
        Assert.Equal("ALTER TABLE \"public\".\"p_2024_01\" RENAME TO \"p_2024\"",
            Assert.Single(D.Rename(Sales, new RenameAction("p_2024_01", "p_2024", "January"))).Text);
        Assert.Equal("SELECT count(*) FROM \"public\".\"p_2023\"", D.CountRows(Sales, "p_2023").Text);
    }

    [Theory]
    [InlineData("FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')", "2023-01-01", "2024-01-01")]
    [InlineData("FOR VALUES FROM ('2023-01-01 00:00:00') TO ('2023-02-01 00:00:00')", "2023-01-01", "2023-02-01")]
    [InlineData("FOR VALUES FROM ('2023-01-01 00:00:00+00') TO ('2023-02-01 00:00:00+00')", "2023-01-01", "2023-02-01")]
    [InlineData("FOR VALUES FROM (MINVALUE) TO ('2023-02-01')", null, "2023-02-01")]
    [InlineData("FOR VALUES FROM ('2023-02-01') TO (MAXVALUE)", "2023-02-01", null)]
    public void Bounds_come_from_pg_get_expr(string text, string? lower, string? upper)
    {
        var bound = D.ParseBound(text);
        Assert.NotNull(bound);
        Assert.Equal(lower is null ? null : DateTime.Parse(lower), bound.Lower);
        Assert.Equal(upper is null ? null : DateTime.Parse(upper), bound.Upper);
    }

    [Theory]
    [InlineData("DEFAULT")]
    [InlineData("FOR VALUES IN ('EU')")]
    [InlineData("FOR VALUES FROM (1) TO (100)")]
    public void Non_date_ranges_are_not_bounds(string text) => Assert.Null(D.ParseBound(text));

    [Fact]
    public void Catalog_reads_pg_inherits_bounds_tablespaces_and_estimates()
    {
        var s = D.Partitions("public", "sales");
        Assert.Contains("pg_get_expr(c.relpartbound, c.oid) AS bound_text", s.Text);
        Assert.Contains("FROM pg_inherits i", s.Text);
        Assert.Contains("CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS row_estimate", s.Text);
        Assert.Contains("LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace", s.Text);
        Assert.Equal([("schema", "public"), ("table_name", "sales")], s.Parameters.Select(p => (p.Name, p.Value as string)));
        Assert.Contains("pg_partitioned_table", D.TableInfo(null, "sales").Text);
        Assert.Contains("NOT a.attisdropped", D.Columns("public", "sales")!.Text);
    }

    [Fact]
    public void Control_tables_keep_the_spec_names_and_columns()
    {
        var ddl = D.CreateControlTables("partitionops");
        // Creation is serialized with backfill's in the same schema: the same lock, the same schema creation.
        Assert.Equal(PostgreSqlControlSchema.LockAndCreate("partitionops").Select(s => s.Text), ddl.Take(2).Select(s => s.Text));
        Assert.Equal("partitionops.control.partitionops", ddl[0].Parameters.Single(p => p.Name == "resource").Value);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"partitionops\".\"dwh_ilm_partition_merges\"", ddl[2].Text);
        Assert.Contains("CHECK (merge_status IN ('SUCCESS', 'FAILED', 'SKIPPED', 'IN_PROGRESS'))", ddl[2].Text);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"partitionops\".\"dwh_ilm_config\"", ddl[3].Text);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"partitionops\".\"dwh_ilm_execution_log\"", ddl[4].Text);
    }

    [Fact]
    public void Monitoring_sql()
    {
        Assert.Equal(
            "SELECT COUNT(*) AS total_merges, SUM(CASE WHEN merge_status = 'SUCCESS' THEN 1 ELSE 0 END) AS succeeded, " +
            "SUM(CASE WHEN merge_status = 'FAILED' THEN 1 ELSE 0 END) AS failed, ROUND(AVG(CASE WHEN merge_status = 'SUCCESS' THEN " +
            "duration_seconds END), 3) AS avg_success_seconds, " +
            "ROUND(MAX(duration_seconds), 3) AS max_seconds FROM \"partitionops\".\"dwh_ilm_partition_merges\" WHERE merge_status IN " +
            "('SUCCESS', 'FAILED') " +
            "AND merge_date > localtimestamp - make_interval(days => @days)",
            D.MergeStatistics("partitionops", null, 7).Text);
        Assert.Equal(
            "SELECT merge_id, merge_date, table_owner, table_name, source_partition, target_partition, merge_status, error_message, " +
            "duration_seconds, rows_merged " +
            "FROM \"partitionops\".\"dwh_ilm_partition_merges\" WHERE table_name = @table_name ORDER BY merge_id DESC LIMIT @max_rows",
            D.MergeHistory("partitionops", null, "sales", 20).Text);
        Assert.Contains("ON CONFLICT (config_key) DO NOTHING", D.SeedConfig(null, "AUTO_MERGE_PARTITIONS", "Y", "x").Text);
        Assert.Contains("ON CONFLICT (config_key) DO UPDATE SET config_value = EXCLUDED.config_value",
            D.SetConfig(null, "AUTO_MERGE_PARTITIONS", "N", null).Text);
    }

    [Fact]
    public void Audit_rows_close_their_in_progress_row()
    {
        var s = D.CompleteMergeAudit(null, new MergeAuditEntry("public", "sales", "p_2023_11", "p_2023", "SUCCESS", null, 1.5m, 100));
        Assert.Equal(
            "UPDATE \"partitionops\".\"dwh_ilm_partition_merges\" SET merge_status = @merge_status, error_message = @error_message, " +
            "duration_seconds = @duration_seconds, rows_merged = @rows_merged WHERE table_owner = @table_owner AND table_name = " +
            "@table_name " +
            "AND source_partition = @source_partition AND target_partition = @target_partition AND merge_status = 'IN_PROGRESS'",
            s.Text);
    }
}
