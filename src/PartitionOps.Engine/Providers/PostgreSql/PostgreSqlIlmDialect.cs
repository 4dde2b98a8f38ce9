using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;

namespace PartitionOps.Engine.Providers.PostgreSql;

/// <summary>
/// ILM on PostgreSQL 15+. Two methods (<see cref="MergeMethod"/>): rebuild (default) fills a new table beside the live
/// partitions and swaps it in under a brief lock, for merges and moves; in_place copies only the months into the
/// partition that grows under the partitioned table's exclusive lock, and moves with SET TABLESPACE. Either way a CHECK
/// constraint for the new range lets ATTACH skip its validation scan
/// (https://www.postgresql.org/docs/15/sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION).
/// PostgreSQL has no table compression: the policy's compression is not applied.
/// </summary>
public sealed partial class PostgreSqlIlmDialect : IIlmDialect
{
    public static readonly PostgreSqlIlmDialect Instance = new();

    /// <summary>The temporary constraint that carries the wider range into ATTACH.</summary>
    public const string BoundConstraint = "partitionops_ilm_bound";

    public string ProviderName => "postgresql";
    public bool MultiPartitionMerge => true;
    public bool MergeRewritesTarget => false;
    public bool TransactionalDdl => true;
    public string? DefaultSchema => "public";
    public string? DefaultControlSchema => "partitionops";

    public string NormalizeName(string name) => name;

    private static string Q(string name) => Identifier.Quote(name, '"', '"');

    private static string Table(string schema, string table) => string.IsNullOrEmpty(schema) ? Q(table) : Q(schema) + "." + Q(table);

    private static string Partition(PartitionLayout t, string partition) => Table(t.Schema, partition);

    private static string Control(string? schema, string table) => Table(schema ?? "partitionops", table);

    private static SqlParameter P(string name, object? value) => new(name, value);

    // ---- catalog ----

    public SqlStatement ServerVersion() => new("SELECT current_setting('server_version_num')::int / 10000");

    public SqlStatement TableInfo(string? schema, string table) => SqlStatement.Of("""
        SELECT n.nspname AS table_owner,
               c.relname AS table_name,
               CASE pt.partstrat WHEN 'r' THEN 'RANGE' WHEN 'l' THEN 'LIST' WHEN 'h' THEN 'HASH' END AS partitioning_type,
               pt.partnatts AS key_count,
               (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = pt.partattrs[0]) AS partition_key,
               0 AS is_interval,
               CASE WHEN EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
                                 WHERE i.inhparent = c.oid AND k.relkind = 'p') THEN 1 ELSE 0 END AS is_composite
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
        WHERE n.nspname = @schema AND c.relname = @table_name AND c.relkind IN ('r', 'p')
        """, P("schema", schema ?? "public"), P("table_name", table));

    // reltablespace 0 means the database's default tablespace; reltuples -1 means never analysed.
    public SqlStatement Partitions(string owner, string table) => SqlStatement.Of("""
        SELECT c.relname AS partition_name,
               0 AS partition_position,
               pg_get_expr(c.relpartbound, c.oid) AS bound_text,
               COALESCE(ts.spcname, (SELECT dts.spcname FROM pg_database d JOIN pg_tablespace dts ON dts.oid = d.dattablespace
                                     WHERE d.datname = current_database())) AS tablespace_name,
               NULL::text AS compression,
               CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS row_estimate,
               0 AS is_interval
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
        WHERE n.nspname = @schema AND p.relname = @table_name
        """, P("schema", owner), P("table_name", table));

    public SqlStatement? Columns(string owner, string table) => SqlStatement.Of("""
        SELECT a.attname AS column_name
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table_name AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        ORDER BY a.attnum
        """, P("schema", owner), P("table_name", table));

    public SqlStatement Tablespaces() => new("SELECT spcname AS tablespace_name FROM pg_tablespace ORDER BY spcname");

    [GeneratedRegex(@"^FOR VALUES FROM \((?<from>MINVALUE|'[^']*')\) TO \((?<to>MAXVALUE|'[^']*')\)$", RegexOptions.CultureInvariant)]
    private static partial Regex RangeBound();

    public PartitionBound? ParseBound(string boundText)
    {
        var m = RangeBound().Match(boundText.Trim());
        if (!m.Success) return null;
        return TryLiteral(m.Groups["from"].Value, out var lower) && TryLiteral(m.Groups["to"].Value, out var upper)
            ? new PartitionBound(lower, upper)
            : null;
    }

    // '2023-01-01', '2023-01-01 00:00:00' and '2023-01-01 00:00:00+00' (timestamptz in the session's zone).
    private static bool TryLiteral(string text, out DateTime? value)
    {
        value = null;
        if (text is "MINVALUE" or "MAXVALUE") return true;
        var inner = text.Trim('\'');
        if (inner.Length < 10) return false;
        var date = inner[..10];
        var time = inner.Length >= 19 ? inner[11..19] : "00:00:00";
        if (!DateTime.TryParseExact(
                date + " " + time, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            return false;
        value = parsed;
        return true;
    }

    // Bounds come from DateTime values (never from user text), so writing them as literals is safe;
    // partition bounds and CHECK constraints cannot take parameters.
    private static string Literal(DateTime d) =>
        "'" + (d.TimeOfDay == TimeSpan.Zero
            ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : d.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)) + "'";

    // ---- work ----

    public SqlStatement SetLockTimeout(int seconds) =>
        SqlStatement.Of("SELECT set_config('lock_timeout', @lock_timeout, false)",
            P("lock_timeout", seconds.ToString(CultureInfo.InvariantCulture) + "s"));

    // Indexes stay where they are: SET TABLESPACE moves the table's data only. It holds ACCESS EXCLUSIVE on the
    // partition for the whole copy (https://www.postgresql.org/docs/15/sql-altertable.html, SET TABLESPACE): the
    // in_place method's move; the rebuild method moves with MoveScript instead.
    public IReadOnlyList<SqlStatement> Move(PartitionLayout table, MoveAction move, bool online) =>
        [new($"ALTER TABLE {Partition(table, move.PartitionName)} SET TABLESPACE {Q(move.ToTablespace)}")];

    public IReadOnlyList<MergeMethod> MergeMethods => [MergeMethod.Rebuild, MergeMethod.InPlace];

    public MergeScript Merge(PartitionLayout table, MergeAction merge, bool online) => Merge(table, merge, online, MergeMethod.Rebuild);

    public MergeScript Merge(PartitionLayout table, MergeAction merge, bool online, MergeMethod method)
    {
        if (string.IsNullOrEmpty(table.PartitionKey))
            throw new InvalidRequestException(nameof(IlmPlanRequest.Layout), table.Table,
                "has no partition_key: PostgreSQL merge statements need it (take the layout from a snapshot on PostgreSQL)");
        if (table.Columns.Count == 0)
            throw new InvalidRequestException(nameof(IlmPlanRequest.Layout), table.Table,
                "has no columns: PostgreSQL merge statements copy rows by column (take the layout from a snapshot on PostgreSQL)");
        return method == MergeMethod.InPlace
            ? InPlace(table, merge)
            : Rebuild(table, merge.Sources, merge.TargetName, merge.LowerBound, merge.UpperBound, merge.Tablespace);
    }

    public MergeScript? MoveScript(PartitionLayout table, MoveAction move, bool online, MergeMethod method)
    {
        if (method != MergeMethod.Rebuild || string.IsNullOrEmpty(table.PartitionKey) || table.Columns.Count == 0) return null;
        var part = table.Partitions.FirstOrDefault(p => string.Equals(p.Name, move.PartitionName, StringComparison.Ordinal));
        if (part is null) return null;
        return Rebuild(table, [move.PartitionName], move.PartitionName, part.LowerBound, part.UpperBound, move.ToTablespace);
    }

    /// <summary>Suffix of the table a rebuild fills beside the live partitions (dropped by the next run if left behind).</summary>
    public const string RebuildSuffix = "_ilm_rebuild";

    /// <summary>
    /// The comment that marks a rebuild table as ours: only tables carrying it (and not partitions) are ever dropped as leftovers.
    /// </summary>
    public static string RebuildMarker(string schema, string table) => $"partitionops ILM rebuild for {schema}.{table}";

    // Lock steps wait at most this long per attempt, then roll back to their savepoint and retry after a back-off: a
    // waiting ACCESS EXCLUSIVE request queues every later reader behind it
    // (https://www.postgresql.org/docs/15/explicit-locking.html), so no wait may last long.
    private static readonly TimeSpan LockAttempt = TimeSpan.FromMilliseconds(300);

    private static LockRetry Retry() => new(
        [new("SAVEPOINT partitionops_lock"), new($"SET LOCAL lock_timeout = '{(int)LockAttempt.TotalMilliseconds}ms'")],
        // Locks taken after a savepoint are released when it is rolled back to (explicit-locking.html, 13.3).
        new("ROLLBACK TO SAVEPOINT partitionops_lock"),
        new("RELEASE SAVEPOINT partitionops_lock"),
        LockAttempt);

    private string Range(string key, DateTime? lower, DateTime? upper)
    {
        var range = new StringBuilder($"{key} IS NOT NULL");
        if (lower is { } l) range.Append($" AND {key} >= {Literal(l)}");
        if (upper is { } u) range.Append($" AND {key} < {Literal(u)}");
        return range.ToString();
    }

    private static string Bound(DateTime? lower, DateTime? upper) =>
        $"FOR VALUES FROM ({(lower is { } l ? Literal(l) : "MINVALUE")}) TO ({(upper is { } u ? Literal(u) : "MAXVALUE")})";

    /// <summary>
    /// One text naming what would make DETACH or DROP of the sources fail (a view or rule on a source, a foreign key
    /// referencing a source or the partitioned table), or null: checked before anything is copied.
    /// </summary>
    private static SqlStatement Blockers(PartitionLayout table, IReadOnlyList<string> sources) => SqlStatement.Of("""
        SELECT string_agg(problem, '; ' ORDER BY problem) FROM (
            SELECT format('view %s depends on %s', v.oid::regclass, d.refobjid::regclass) AS problem
            FROM pg_depend d
            JOIN pg_rewrite r ON r.oid = d.objid
            JOIN pg_class v ON v.oid = r.ev_class
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.refobjid = ANY (@sources::text[]::regclass[]) AND v.oid <> d.refobjid
            UNION
            SELECT format('foreign key %I of %s references %s', k.conname, k.conrelid::regclass, k.confrelid::regclass)
            FROM pg_constraint k
            WHERE k.contype = 'f' AND k.conparentid = 0
              AND (k.confrelid = ANY (@sources::text[]::regclass[]) OR k.confrelid = @parent::text::regclass)
        ) found
        """,
        P("sources", sources.Select(s => Partition(table, s)).ToArray()),
        P("parent", Table(table.Schema, table.Table)));

    /// <summary>
    /// Backends waiting for a lock on the sources (writers held back by the copy's SHARE lock), or null. Such a writer
    /// already holds ROW EXCLUSIVE on the partitioned table (an INSERT locks the parent before routing the row), so
    /// waiting for the parent's ACCESS EXCLUSIVE lock now would be a deadlock: the rebuild yields instead.
    /// </summary>
    private static SqlStatement WaitingWriters(PartitionLayout table, IReadOnlyList<string> sources) => SqlStatement.Of("""
        SELECT 'backends ' || string_agg(DISTINCT w.pid::text, ', ') || ' wait to write into the partitions being rebuilt'
        FROM pg_locks w
        WHERE NOT w.granted AND w.locktype = 'relation' AND w.pid <> pg_backend_pid()
          AND w.relation = ANY (@sources::text[]::regclass[]::oid[])
        HAVING count(*) > 0
        """, P("sources", sources.Select(s => Partition(table, s)).ToArray()));

    /// <summary>
    /// pg_repack's way (rebuild beside, swap under a brief lock): in ONE transaction, a new table in the target
    /// tablespace receives the rows of every source while the sources are held in SHARE mode (readers go on, writers to
    /// those partitions wait: https://www.postgresql.org/docs/15/explicit-locking.html, table 13.2); then the sources and
    /// then the partitioned table are locked ACCESS EXCLUSIVE (short timeouts, retried) for metadata only: DETACH needs
    /// that lock on the parent (https://www.postgresql.org/docs/15/sql-altertable.html, DETACH PARTITION), ATTACH finds
    /// the CHECK constraint already valid and skips its scan, and the indexes created by LIKE ... INCLUDING INDEXES
    /// match the parent's, so ATTACH attaches them instead of building them (same page, ATTACH PARTITION).
    /// No relation changes tablespace: a new one is created in it, and a rollback (or a crash) discards it whole.
    /// That is the method for a table without a key; with one (<see cref="PartitionLayout.KeyColumns"/>, from the catalog)
    /// the copy takes no SHARE lock and the changes written meanwhile are captured instead (<see cref="Captured"/>).
    /// </summary>
    private MergeScript Rebuild(PartitionLayout table, IReadOnlyList<string> sources, string target, DateTime? lower, DateTime? upper,
        string tablespace)
    {
        var parent = Table(table.Schema, table.Table);
        var newName = target + RebuildSuffix;
        if (System.Text.Encoding.UTF8.GetByteCount(newName) > 63)
            throw new InvalidRequestException(nameof(IlmTableRequest.Table), target,
                $"is too long a partition name for the rebuild table {newName} (PostgreSQL names hold 63 bytes)");
        var rebuilt = Table(table.Schema, newName);
        if (table.KeyColumns is { Count: > 0 })
        {
            foreach (var suffix in new[] { LogSuffix, CaptureSuffix })
                if (System.Text.Encoding.UTF8.GetByteCount(target + suffix) > 63)
                    throw new InvalidRequestException(nameof(IlmTableRequest.Table), target,
                        $"is too long a partition name for the change capture's {target + suffix} (PostgreSQL names hold 63 bytes)");
        }
        var head = Partition(table, sources[0]);
        var columns = string.Join(", ", table.Columns.Select(Q));
        var sourceList = string.Join(", ", sources.Select(s => Partition(table, s)));
        var marker = RebuildMarker(table.Schema, table.Table).Replace("'", "''", StringComparison.Ordinal);
        var copies = new Dictionary<string, string>(StringComparer.Ordinal);
        var merge = new List<SqlStatement>
        {
            // Indexes built with the table go to the tier's tablespace too (LIKE names none).
            new($"SET LOCAL default_tablespace = {Q(tablespace)}"),
            // Not IDENTITY (a partition has none of its own); CHECK for the new range, valid from the start (empty table).
            new($"CREATE TABLE {rebuilt} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING STORAGE " +
                "INCLUDING COMPRESSION INCLUDING GENERATED, " +
                $"CONSTRAINT {Q(BoundConstraint)} CHECK ({Range(Q(table.PartitionKey!), lower, upper)})) " +
                $"TABLESPACE {Q(tablespace)}"),
            new($"COMMENT ON TABLE {rebuilt} IS '{marker}'"),
        };
        foreach (var source in sources)
        {
            var copy = new SqlStatement($"INSERT INTO {rebuilt} ({columns}) SELECT {columns} FROM {Partition(table, source)}");
            copies[copy.Text] = source;
            merge.Add(copy);
        }
        merge.Add(new($"ANALYZE {rebuilt}"));

        var swap = new List<SqlStatement> { RenameIndexes(head, rebuilt) };
        swap.AddRange(sources.Select(s => new SqlStatement($"ALTER TABLE {parent} DETACH PARTITION {Partition(table, s)}")));
        swap.AddRange(sources.Select(s => new SqlStatement($"DROP TABLE {Partition(table, s)}")));
        swap.Add(new($"ALTER TABLE {parent} ATTACH PARTITION {rebuilt} {Bound(lower, upper)}"));
        swap.Add(new($"ALTER TABLE {rebuilt} DROP CONSTRAINT {Q(BoundConstraint)}"));
        swap.Add(new($"COMMENT ON TABLE {rebuilt} IS NULL"));
        swap.Add(new($"ALTER TABLE {rebuilt} RENAME TO {Q(target)}"));

        if (table.KeyColumns is { Count: > 0 } keys)
            return Captured(table, sources, target, keys, merge, swap, copies);

        return new MergeScript([], [new($"LOCK TABLE {sourceList} IN SHARE MODE")], merge)
        {
            Checks = [Blockers(table, sources)],
            // Partitions first, then the parent: the parent's exclusive lock is never held while waiting for another.
            // ONLY: without it LOCK TABLE locks every partition too (https://www.postgresql.org/docs/15/sql-lock.html).
            SwapLock =
            [
                new($"LOCK TABLE {sourceList} IN ACCESS EXCLUSIVE MODE"),
                new($"LOCK TABLE ONLY {parent} IN ACCESS EXCLUSIVE MODE"),
            ],
            SwapGuard = WaitingWriters(table, sources),
            Swap = swap,
            Retry = Retry(),
            Copies = copies,
        };
    }

    /// <summary>
    /// Gives the rebuilt table's indexes the names the head partition's indexes had (matched by definition), renaming the
    /// old ones out of the way first (they are dropped with their table). A DO block: names are read from the catalog.
    /// ALTER INDEX ... RENAME also renames a constraint's index's constraint.
    /// </summary>
    private static SqlStatement RenameIndexes(string head, string rebuilt) => new($$"""
        DO $partitionops$
        DECLARE
            old_index record;
            new_index oid;
            used oid[] := '{}';
        BEGIN
            FOR old_index IN
                SELECT i.indexrelid, c.relname, c.relam, i.indkey::text AS k, i.indclass::text AS cl, i.indcollation::text AS co,
                       i.indoption::text AS op, i.indisunique AS u,
                       coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS e, coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS p
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = '{{head.Replace("'", "''", StringComparison.Ordinal)}}'::regclass
                ORDER BY i.indexrelid
            LOOP
                SELECT i.indexrelid INTO new_index
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = '{{rebuilt.Replace("'", "''", StringComparison.Ordinal)}}'::regclass AND NOT i.indexrelid = ANY (used)
                  AND c.relam = old_index.relam AND i.indkey::text = old_index.k AND i.indclass::text = old_index.cl
                  AND i.indcollation::text = old_index.co AND i.indoption::text = old_index.op AND i.indisunique = old_index.u
                  AND coalesce(pg_get_expr(i.indexprs, i.indrelid), '') = old_index.e
                  AND coalesce(pg_get_expr(i.indpred, i.indrelid), '') = old_index.p
                ORDER BY i.indexrelid LIMIT 1;
                IF new_index IS NOT NULL THEN
                    used := used || new_index;
                    EXECUTE format('ALTER INDEX %s RENAME TO %I',
                                   old_index.indexrelid::regclass, 'partitionops_old_' || old_index.indexrelid);
                    EXECUTE format('ALTER INDEX %s RENAME TO %I', new_index::regclass, old_index.relname);
                END IF;
            END LOOP;
        END
        $partitionops$
        """);

    /// <summary>
    /// Copies only the months into the partition that grows (fewer rows written) but holds the partitioned table's
    /// ACCESS EXCLUSIVE lock for that copy. Its tablespace changes first, in a statement committed on its own: a
    /// relation's tablespace never changes in the transaction that writes into it (a rollback would leave its indexes
    /// pointing into the discarded file). The CHECK constraint is validated beforehand (VALIDATE takes SHARE UPDATE
    /// EXCLUSIVE, writers go on) so ATTACH skips its scan.
    /// </summary>
    private MergeScript InPlace(PartitionLayout table, MergeAction merge)
    {
        var parent = Table(table.Schema, table.Table);
        var head = Partition(table, merge.Head);
        var range = Range(Q(table.PartitionKey!), merge.LowerBound, merge.UpperBound);
        var prepare = new List<SqlStatement>
        {
            new($"ALTER TABLE {head} DROP CONSTRAINT IF EXISTS {Q(BoundConstraint)}"),
            new($"ALTER TABLE {head} ADD CONSTRAINT {Q(BoundConstraint)} CHECK ({range}) NOT VALID"),
            new($"ALTER TABLE {head} VALIDATE CONSTRAINT {Q(BoundConstraint)}"),
        };
        if (!string.Equals(merge.HeadTablespace, merge.Tablespace, StringComparison.OrdinalIgnoreCase))
            prepare.Add(new($"ALTER TABLE {head} SET TABLESPACE {Q(merge.Tablespace)}"));
        var months = merge.Sources.Skip(1).ToList();
        var columns = string.Join(", ", table.Columns.Select(Q));
        var copies = new Dictionary<string, string>(StringComparer.Ordinal);
        var work = new List<SqlStatement> { new($"ALTER TABLE {parent} DETACH PARTITION {head}") };
        foreach (var month in months)
        {
            var copy = new SqlStatement($"INSERT INTO {head} ({columns}) SELECT {columns} FROM {Partition(table, month)}");
            copies[copy.Text] = month;
            work.Add(copy);
        }
        foreach (var month in months)
            work.Add(new($"DROP TABLE {Partition(table, month)}"));
        work.Add(new($"ALTER TABLE {parent} ATTACH PARTITION {head} {Bound(merge.LowerBound, merge.UpperBound)}"));
        work.Add(new($"ALTER TABLE {head} DROP CONSTRAINT {Q(BoundConstraint)}"));
        if (!string.Equals(merge.Head, merge.TargetName, StringComparison.Ordinal))
            work.Add(new($"ALTER TABLE {head} RENAME TO {Q(merge.TargetName)}"));
        // Partitions first, then the parent, each attempt with a short timeout: readers never queue behind a long wait.
        var locks = new List<SqlStatement>
        {
            new($"LOCK TABLE {string.Join(", ", merge.Sources.Select(s => Partition(table, s)))} IN ACCESS EXCLUSIVE MODE"),
            new($"LOCK TABLE ONLY {parent} IN ACCESS EXCLUSIVE MODE"),
        };
        return new MergeScript(prepare, locks, work)
        {
            Checks = [Blockers(table, merge.Sources)],
            Retry = Retry(),
            Copies = copies,
            // Never waits long (the failure may have been a lock held on the head): left for the next run then.
            Cleanup = [new($"""
                DO $partitionops$
                BEGIN
                    SET LOCAL lock_timeout = '{(int)LockAttempt.TotalMilliseconds}ms';
                    ALTER TABLE {head} DROP CONSTRAINT IF EXISTS {Q(BoundConstraint)};
                EXCEPTION WHEN lock_not_available THEN NULL;
                END
                $partitionops$
                """)],
        };
    }

    /// <summary>
    /// What failed runs left, in the order it is dropped: capture functions first (CASCADE drops their triggers: a trigger
    /// whose log table were gone would fail the application's writes), then log tables, rebuild tables, constraints.
    /// </summary>
    public SqlStatement? Leftovers(string owner, string table) => SqlStatement.Of("""
        SELECT leftover_kind, leftover_name FROM (
            SELECT 1 AS rank, 'function' AS leftover_kind, p.proname::text AS leftover_name
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = @schema AND obj_description(p.oid, 'pg_proc') = @capture_marker
            UNION ALL
            SELECT 2, 'log table', c.relname::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relkind = 'r' AND NOT c.relispartition
              AND obj_description(c.oid, 'pg_class') = @log_marker
            UNION ALL
            SELECT 3, 'table', c.relname::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = @schema AND c.relkind = 'r' AND NOT c.relispartition
              AND obj_description(c.oid, 'pg_class') = @marker
            UNION ALL
            SELECT 4, 'constraint', c.relname::text
            FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_inherits i ON i.inhrelid = c.oid
            JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = @schema AND p.relname = @table_name AND k.conname = @constraint_name
        ) found
        ORDER BY rank, leftover_name
        """, P("schema", owner), P("table_name", table), P("marker", RebuildMarker(owner, table)),
        P("log_marker", LogMarker(owner, table)), P("capture_marker", CaptureMarker(owner, table)),
        P("constraint_name", BoundConstraint));

    // Dropping a capture function takes ACCESS EXCLUSIVE on each partition its triggers are on: a run tries it under short
    // lock timeouts (a DO block); by hand it is the plain statement.
    public SqlStatement DropLeftover(string owner, string table, string kind, string name) =>
        kind == "function" ? Tried(DropLeftoverByHand(owner, table, kind, name)) : new(DropLeftoverByHand(owner, table, kind, name));

    public string DropLeftoverByHand(string owner, string table, string kind, string name) => kind switch
    {
        "function" => $"DROP FUNCTION IF EXISTS {Table(owner, name)}() CASCADE",
        "log table" or "table" => $"DROP TABLE IF EXISTS {Table(owner, name)}",
        "constraint" => $"ALTER TABLE {Table(owner, name)} DROP CONSTRAINT IF EXISTS {Q(BoundConstraint)}",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "a leftover is a function, a table or a constraint"),
    };

    public IReadOnlyList<SqlStatement> Rename(PartitionLayout table, RenameAction rename) =>
        [new($"ALTER TABLE {Partition(table, rename.PartitionName)} RENAME TO {Q(rename.NewName)}")];

    // Session-level advisory lock keyed by the table's name; released explicitly and when the session ends.
    public SqlStatement? TryLockTable(string owner, string table) =>
        SqlStatement.Of("SELECT pg_try_advisory_lock(hashtext(@lock_name))", P("lock_name", $"partitionops.ilm:{owner}.{table}"));

    public SqlStatement? UnlockTable(string owner, string table) =>
        SqlStatement.Of("SELECT pg_advisory_unlock(hashtext(@lock_name))", P("lock_name", $"partitionops.ilm:{owner}.{table}"));

    // "A bigint key is displayed with its high-order half in the classid column, its low-order half in the objid column,
    // and objsubid equal to 1" (https://www.postgresql.org/docs/15/view-pg-locks.html). Read from pg_locks, not tried:
    // a health check must never hold the lock a starting run needs.
    public SqlStatement? TableLockHeld(string owner, string table) => SqlStatement.Of("""
        SELECT EXISTS (
            SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid = ((hashtext(@lock_name)::bigint >> 32) & 4294967295)::oid
              AND objid = (hashtext(@lock_name)::bigint & 4294967295)::oid)
        """, P("lock_name", $"partitionops.ilm:{owner}.{table}"));

    public SqlStatement CountRows(PartitionLayout table, string partition) => new($"SELECT count(*) FROM {Partition(table, partition)}");

    // ---- control tables ----

    /// <summary>
    /// Serialized with backfill's creation in the same schema (see <see cref="PostgreSqlControlSchema"/>): run in one transaction.
    /// </summary>
    public IReadOnlyList<SqlStatement> CreateControlTables(string? controlSchema) =>
    [
        .. PostgreSqlControlSchema.LockAndCreate(controlSchema ?? "partitionops"),
        // The spec's columns; IN_PROGRESS marks a merge under way so an interrupted run can be reconciled.
        new($"""
        CREATE TABLE IF NOT EXISTS {Control(controlSchema, "dwh_ilm_partition_merges")} (
            merge_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            merge_date          timestamp DEFAULT localtimestamp,
            table_owner         varchar(128) NOT NULL,
            table_name          varchar(128) NOT NULL,
            source_partition    varchar(128) NOT NULL,
            target_partition    varchar(128) NOT NULL,
            merge_status        varchar(20) NOT NULL,
            error_message       varchar(4000),
            duration_seconds    numeric,
            rows_merged         numeric,
            CONSTRAINT chk_merge_status CHECK (merge_status IN ('SUCCESS', 'FAILED', 'SKIPPED', 'IN_PROGRESS'))
        )
        """),
        new($"""
        CREATE TABLE IF NOT EXISTS {Control(controlSchema, "dwh_ilm_config")} (
            config_key          varchar(100) PRIMARY KEY,
            config_value        varchar(4000),
            description         varchar(4000)
        )
        """),
        new($"""
        CREATE TABLE IF NOT EXISTS {Control(controlSchema, "dwh_ilm_execution_log")} (
            execution_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            execution_date      timestamp DEFAULT localtimestamp,
            table_owner         varchar(128) NOT NULL,
            table_name          varchar(128) NOT NULL,
            partition_name      varchar(128) NOT NULL,
            action              varchar(20) NOT NULL,
            source_tablespace   varchar(128),
            target_tablespace   varchar(128),
            status              varchar(20) NOT NULL,
            error_message       varchar(4000),
            duration_seconds    numeric,
            sql_text            varchar(4000)
        )
        """),
    ];

    public SqlStatement ControlTableExists(string? controlSchema, string table) => SqlStatement.Of("""
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = @schema AND c.relname = @table_name AND c.relkind IN ('r', 'p')
        """, P("schema", controlSchema ?? "partitionops"), P("table_name", table));

    public SqlStatement SeedConfig(string? controlSchema, string key, string value, string description) => SqlStatement.Of(
        $"INSERT INTO {Control(controlSchema, "dwh_ilm_config")} (config_key, config_value, description) " +
        "VALUES (@config_key, @config_value, @description) ON CONFLICT (config_key) DO NOTHING",
        P("config_key", key), P("config_value", value), P("description", description));

    public SqlStatement SetConfig(string? controlSchema, string key, string value, string? description) => SqlStatement.Of(
        $"INSERT INTO {Control(controlSchema, "dwh_ilm_config")} (config_key, config_value, description) " +
        "VALUES (@config_key, @config_value, @description) " +
        "ON CONFLICT (config_key) DO UPDATE SET config_value = EXCLUDED.config_value, " +
        "description = COALESCE(EXCLUDED.description, dwh_ilm_config.description)",
        P("config_key", key), P("config_value", value), P("description", description));

    /// <summary>The audit, log and config statements shared with the other dialects.</summary>
    private static readonly IlmControlSql ControlSql =
        new(n => "@" + n, p => $"localtimestamp - make_interval(days => {p})", p => $"LIMIT {p}");

    public SqlStatement ReadConfig(string? controlSchema) => ControlSql.ReadConfig(Control(controlSchema, "dwh_ilm_config"));

    public SqlStatement InsertMergeAudit(string? controlSchema, MergeAuditEntry e) =>
        ControlSql.InsertMergeAudit(Control(controlSchema, "dwh_ilm_partition_merges"), e);

    public SqlStatement CompleteMergeAudit(string? controlSchema, MergeAuditEntry e) =>
        ControlSql.CompleteMergeAudit(Control(controlSchema, "dwh_ilm_partition_merges"), e);

    public SqlStatement MergeHistory(string? controlSchema, string? owner, string? table, int maxRows) =>
        ControlSql.MergeHistory(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table, maxRows);

    public SqlStatement InProgressMerges(string? controlSchema, string owner, string table) =>
        ControlSql.InProgressMerges(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table);

    public SqlStatement LatestMergeStatus(string? controlSchema, string owner, string table) =>
        ControlSql.LatestMergeStatus(Control(controlSchema, "dwh_ilm_partition_merges"), owner, table);

    public SqlStatement MergeStatistics(string? controlSchema, string? table, int days) =>
        ControlSql.MergeStatistics(Control(controlSchema, "dwh_ilm_partition_merges"), table, days);

    public SqlStatement StaleFailedMerges(string? controlSchema, string? table, int days) =>
        ControlSql.StaleFailedMerges(Control(controlSchema, "dwh_ilm_partition_merges"), table, days);

    public SqlStatement InsertExecutionLog(string? controlSchema, ExecutionLogEntry e) =>
        ControlSql.InsertExecutionLog(Control(controlSchema, "dwh_ilm_execution_log"), e);
}
