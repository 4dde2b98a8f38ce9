using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Model;

namespace PartitionOps.Engine.Providers.PostgreSql;

/// <summary>
/// Change capture for the rebuild method (pg_repack's way: a trigger and a log table), used when the partitioned table
/// has a primary key or a unique index on NOT NULL columns (<see cref="PartitionLayout.KeyColumns"/>, read from the
/// catalog): writers to the partitions being rebuilt never wait for the copy.
/// </summary>
public sealed partial class PostgreSqlIlmDialect
{
    /// <summary>Suffix of the log table that receives the changes written to the sources during a rebuild.</summary>
    public const string LogSuffix = "_ilm_log";

    /// <summary>Suffix of the trigger function that writes that log (and refuses TRUNCATE of a source).</summary>
    public const string CaptureSuffix = "_ilm_capture";

    /// <summary>The row trigger on each source partition that logs its changes.</summary>
    public const string CaptureTrigger = "partitionops_ilm_capture";

    /// <summary>The statement trigger on each source partition that refuses TRUNCATE while it is captured.</summary>
    public const string TruncateTrigger = "partitionops_ilm_no_truncate";

    /// <summary>Changes applied per catch-up transaction (one snapshot each).</summary>
    public const int CatchUpBatch = 10_000;

    /// <summary>Catch-up ends when a batch found fewer changes than this: the rest is applied under the swap's locks.</summary>
    public const int CatchUpThreshold = 1_000;

    /// <summary>Catch-up ends after this many batches anyway (a writer faster than the apply): the swap applies the rest.</summary>
    public const int MaxCatchUpRounds = 20;

    /// <summary>The comment that marks a log table as ours (dropped by the next run if left behind).</summary>
    public static string LogMarker(string schema, string table) => $"partitionops ILM change log for {schema}.{table}";

    /// <summary>The comment that marks a capture trigger function as ours (dropped, with its triggers, if left behind).</summary>
    public static string CaptureMarker(string schema, string table) => $"partitionops ILM change capture for {schema}.{table}";

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// A DDL statement tried with a short lock timeout, a few times with pauses, then failing with lock_not_available: it
    /// runs on its own (a DO block is one transaction), and a waiting ACCESS EXCLUSIVE request never queues readers long.
    /// Locks taken in a failed attempt are released with its subtransaction.
    /// </summary>
    private static SqlStatement Tried(string ddl) => new($$"""
        DO $partitionops$
        BEGIN
            SET LOCAL lock_timeout = '{{(int)LockAttempt.TotalMilliseconds}}ms';
            FOR attempt IN 1..10 LOOP
                BEGIN
                    {{ddl}};
                    RETURN;
                EXCEPTION WHEN lock_not_available THEN
                    IF attempt = 10 THEN RAISE; END IF;
                    PERFORM pg_sleep(0.1 * attempt);
                END;
            END LOOP;
        END
        $partitionops$
        """);

    /// <summary>
    /// The rebuild with change capture. (1) Capture setup, each step committed on its own: the log table, the trigger
    /// function (each with the comment marking it as ours, in the same transaction) and, on each source, a row trigger
    /// logging to_jsonb(OLD) / to_jsonb(NEW) and a TRUNCATE trigger that raises (a TRUNCATE is not a row change: it
    /// would never reach the copy). CREATE TRIGGER takes SHARE ROW EXCLUSIVE on that partition only
    /// (https://www.postgresql.org/docs/15/explicit-locking.html, table-level locks: "Acquired by CREATE TRIGGER"), tried
    /// with the short lock timeout: readers never queue, writers wait at most one attempt.
    /// (2) The copy in one REPEATABLE READ transaction (one snapshot): the log entries visible in it are changes the copy
    /// already holds and are deleted; no lock on the sources beyond reading. (3) Catch-up: the log applied in batches,
    /// each its own REPEATABLE READ transaction. (4) The swap: the usual lock tries, then the rest of the log (no writer
    /// can add to it under those locks), the swap, and the capture objects dropped; a swap that cannot get its locks is
    /// rolled back and retried after a catch-up batch (the executor), then fails having changed nothing in the live
    /// table; the copy is never redone.
    /// Applying a batch: every key the batch touched (old or new row) is deleted from the rebuilt table, then each key's
    /// last state is inserted when the last change that touched it left a row there. The key is unique on the whole
    /// table, so two changes to one key are serialized by its row lock or its unique index entry: their log ids follow
    /// their commit order, and a snapshot that sees a key's change sees every earlier one.
    /// </summary>
    private MergeScript Captured(PartitionLayout table, IReadOnlyList<string> sources, string target, IReadOnlyList<string> keys,
        List<SqlStatement> copy, List<SqlStatement> swap, Dictionary<string, string> copies)
    {
        var parent = Table(table.Schema, table.Table);
        var rebuilt = Table(table.Schema, target + RebuildSuffix);
        var log = Table(table.Schema, target + LogSuffix);
        var capture = Table(table.Schema, target + CaptureSuffix);
        var columns = string.Join(", ", table.Columns.Select(Q));

        // Each object is created and marked in one transaction: an unmarked one (a kill between the two) would never be
        // found by the leftover sweep and would block every later run.
        var setup = new List<IReadOnlyList<SqlStatement>>
        {
            new SqlStatement[]
            {
                new($"CREATE TABLE {log} (id bigserial PRIMARY KEY, old_row jsonb, new_row jsonb)"),
                new($"COMMENT ON TABLE {log} IS {Literal(LogMarker(table.Schema, table.Table))}"),
            },
        };
        setup.Add(new SqlStatement[]
        {
            // SECURITY DEFINER: the application's roles write the log through the trigger without rights on it.
            new($$"""
                CREATE FUNCTION {{capture}}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog, pg_temp AS $partitionops$
                BEGIN
                    IF TG_OP = 'TRUNCATE' THEN
                        RAISE EXCEPTION 'partition %.% is being rebuilt by a partitionops ILM merge or move: truncate it afterwards',
                            TG_TABLE_SCHEMA, TG_TABLE_NAME;
                    END IF;
                    INSERT INTO {{log}} (old_row, new_row) VALUES (
                        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
                    RETURN NULL;
                END
                $partitionops$
                """),
            new($"COMMENT ON FUNCTION {capture}() IS {Literal(CaptureMarker(table.Schema, table.Table))}"),
        });
        foreach (var source in sources)
        {
            setup.Add([new($"CREATE TRIGGER {Q(CaptureTrigger)} AFTER INSERT OR UPDATE OR DELETE ON {Partition(table, source)} " +
                $"FOR EACH ROW EXECUTE FUNCTION {capture}()")]);
            setup.Add([new($"CREATE TRIGGER {Q(TruncateTrigger)} BEFORE TRUNCATE ON {Partition(table, source)} " +
                $"FOR EACH STATEMENT EXECUTE FUNCTION {capture}()")]);
        }

        var merge = new List<SqlStatement>
        {
            // Before any query: the DELETE takes the snapshot every copy below reads.
            new("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
            new($"DELETE FROM {log}"),
        };
        merge.AddRange(copy);

        var batch = $"l.id <= (SELECT max(id) FROM (SELECT id FROM {log} ORDER BY id LIMIT {CatchUpBatch}) batch)";
        var catchUp = new List<SqlStatement>
        {
            new($"-- repeated, each time its own transaction, until a batch finds fewer than {CatchUpThreshold} changes " +
                $"(at most {MaxCatchUpRounds} times)\nSET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
        };
        catchUp.AddRange(Apply(table, keys, rebuilt, log, columns, batch));
        catchUp.Add(new($"DELETE FROM {log} l WHERE {batch}"));

        var drain = Apply(table, keys, rebuilt, log, columns, null);
        drain.Add(new($"DELETE FROM {log}"));

        swap.Add(new($"DROP FUNCTION {capture}() CASCADE"));
        swap.Add(new($"DROP TABLE {log}"));

        return new MergeScript([], [], merge)
        {
            Checks = [Blockers(table, sources)],
            CaptureSteps = setup,
            CatchUp = catchUp,
            CatchUpThreshold = CatchUpThreshold,
            MaxCatchUpRounds = MaxCatchUpRounds,
            SwapLock =
            [
                new($"LOCK TABLE {string.Join(", ", sources.Select(s => Partition(table, s)))} IN ACCESS EXCLUSIVE MODE"),
                new($"LOCK TABLE ONLY {parent} IN ACCESS EXCLUSIVE MODE"),
            ],
            Drain = drain,
            Swap = swap,
            Retry = Retry(),
            Copies = copies,
            // Functions first: their triggers go with them, and a trigger whose log table is gone fails the writes.
            Cleanup =
            [
                Tried($"DROP FUNCTION IF EXISTS {capture}() CASCADE"),
                Tried($"DROP TABLE IF EXISTS {log}"),
                Tried($"DROP TABLE IF EXISTS {rebuilt}"),
            ],
        };
    }

    /// <summary>
    /// Applies the log entries selected by <paramref name="batch"/> (all when null) to the rebuilt table: the keys they
    /// touched deleted, then each key's last state inserted (its row from the entry that touched it last, when that entry
    /// left a row under that key).
    /// </summary>
    private static List<SqlStatement> Apply(PartitionLayout table, IReadOnlyList<string> keys, string rebuilt, string log,
        string columns, string? batch)
    {
        var parent = Table(table.Schema, table.Table);
        var where = batch is null ? "c.row_json IS NOT NULL" : $"c.row_json IS NOT NULL AND {batch}";
        var keyList = string.Join(", ", keys.Select(k => "k." + Q(k)));
        var match = string.Join(" AND ", keys.Select(k => $"t.{Q(k)} = touched.{Q(k)}"));
        return
        [
            new($"""
                DELETE FROM {rebuilt} t USING (
                    SELECT DISTINCT {keyList}
                    FROM {log} l
                    CROSS JOIN LATERAL (VALUES (l.old_row), (l.new_row)) AS c (row_json)
                    CROSS JOIN LATERAL jsonb_populate_record(NULL::{parent}, c.row_json) AS k
                    WHERE {where}
                ) touched
                WHERE {match}
                """),
            new($"""
                INSERT INTO {rebuilt} ({columns})
                SELECT {columns} FROM (
                    SELECT DISTINCT ON ({keyList}) c.is_new AS partitionops_is_new, k.*
                    FROM {log} l
                    CROSS JOIN LATERAL (VALUES (l.old_row, false), (l.new_row, true)) AS c (row_json, is_new)
                    CROSS JOIN LATERAL jsonb_populate_record(NULL::{parent}, c.row_json) AS k
                    WHERE {where}
                    ORDER BY {keyList}, l.id DESC, c.is_new DESC
                ) last_change
                WHERE partitionops_is_new
                """),
        ];
    }

    /// <summary>
    /// The columns of the partitioned table's primary key, else of its first unique index whose columns are all NOT NULL
    /// (no expression, no predicate; valid): the key change capture applies changes by. No rows: no such key.
    /// </summary>
    public SqlStatement? KeyColumns(string owner, string table) => SqlStatement.Of("""
        SELECT a.attname AS column_name
        FROM (
            SELECT i.indrelid, i.indkey::int2[] AS attnums, i.indnkeyatts
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relname = @table_name AND i.indisunique AND i.indisvalid
              AND i.indpred IS NULL AND i.indexprs IS NULL
              AND NOT EXISTS (SELECT 1 FROM pg_attribute na
                              WHERE na.attrelid = i.indrelid AND na.attnum = ANY (i.indkey::int2[]) AND NOT na.attnotnull)
            ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid
            LIMIT 1
        ) key
        CROSS JOIN LATERAL unnest(key.attnums) WITH ORDINALITY AS k (attnum, position)
        JOIN pg_attribute a ON a.attrelid = key.indrelid AND a.attnum = k.attnum
        WHERE k.position <= key.indnkeyatts
        ORDER BY k.position
        """, P("schema", owner), P("table_name", table));
}
