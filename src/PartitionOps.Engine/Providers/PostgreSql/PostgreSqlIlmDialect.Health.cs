using System.Text.RegularExpressions;
using PartitionOps.Engine.Ilm.Monitoring;

namespace PartitionOps.Engine.Providers.PostgreSql;

public sealed partial class PostgreSqlIlmDialect
{
    public IIlmIndexChecks? IndexChecks => PostgreSqlIndexChecks.Instance;
}

/// <summary>
/// <c>ilm health --verify-indexes</c> on PostgreSQL: every B-tree index of every leaf partition of the table, in two
/// read-only passes, each reading the whole index once (AccessShareLock, as a SELECT takes).
/// <list type="bullet">
/// <item>amcheck's <c>bt_index_check(index, heapallindexed => false)</c> verifies the B-tree's structure
/// (https://www.postgresql.org/docs/15/amcheck.html). It does not look at where entries point, so it passes an index
/// damaged by a rolled-back write into a relation whose tablespace changed in the same transaction (checked on 15.18:
/// bt_index_check and bt_index_parent_check, with heapallindexed too, pass an index whose entries point 400 blocks past
/// the table's end; heapallindexed checks the other direction, that every table row has an entry).</item>
/// <item>pageinspect's <c>bt_page_stats</c> / <c>bt_page_items</c> (https://www.postgresql.org/docs/15/pageinspect.html)
/// read the table row pointer (htid, or tids of a posting list) of every leaf entry. That damage shows as entries pointing
/// past the partition's last block, and once the partition has grown back over those blocks, as row pointers held by two
/// entries (the stale one and the current row's). The high key of a leaf page (item 1 of a page that has a right sibling)
/// is skipped: it is a copy kept for the tree's bounds and may keep the pointer of a row long gone. Only the index is read.</item>
/// </list>
/// Both extensions ship with the contrib package; their functions are for superusers unless granted.
/// The fix is <c>REINDEX INDEX CONCURRENTLY</c>, which rebuilds without blocking reads and writes
/// (https://www.postgresql.org/docs/15/sql-reindex.html#SQL-REINDEX-CONCURRENTLY); an interrupted one leaves an invalid
/// <c>..._ccnew</c> index, which the same page says to drop.
/// </summary>
public sealed partial class PostgreSqlIndexChecks : IIlmIndexChecks
{
    public static readonly PostgreSqlIndexChecks Instance = new();

    public const string AmCheck = "amcheck";
    public const string PageInspect = "pageinspect";

    public IReadOnlyList<IndexCheckTool> Tools { get; } =
    [
        new(AmCheck, "CREATE EXTENSION amcheck;", "would check each B-tree index's structure (bt_index_check)"),
        new(PageInspect, "CREATE EXTENSION pageinspect;",
            "would check where each index entry points (past the end of its partition, or two entries on one row): " +
            "the damage a rolled-back merge of an earlier version left"),
    ];

    private static string Q(string name) => Identifier.Quote(name, '"', '"');

    private static SqlParameter P(string name, object? value) => new(name, value);

    public SqlStatement InstalledTools() => SqlStatement.Of("""
        SELECT e.extname AS name, n.nspname AS schema_name
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname IN (@amcheck, @pageinspect)
        """, P("amcheck", AmCheck), P("pageinspect", PageInspect));

    // pg_partition_tree lists the table and every partition at any depth; only leaves have storage and indexes to check.
    public SqlStatement Indexes(string? schema, string table) => SqlStatement.Of("""
        SELECT n.nspname AS index_schema, ic.relname AS index_name, tc.relname AS partition_name, x.indisvalid AS is_valid
        FROM pg_partition_tree(format('%I.%I', @schema, @table_name)::regclass) pt
        JOIN pg_index x ON x.indrelid = pt.relid
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_class tc ON tc.oid = x.indrelid
        JOIN pg_am am ON am.oid = ic.relam
        WHERE pt.isleaf AND am.amname = 'btree'
        ORDER BY tc.relname, ic.relname
        """, P("schema", schema ?? "public"), P("table_name", table));

    // Functions are called through the schema the extension is installed in, which need not be on the search_path.
    public SqlStatement CheckStructure(IReadOnlyDictionary<string, string> toolSchemas, string indexSchema, string index) =>
        SqlStatement.Of(
        $"SELECT {Q(toolSchemas[AmCheck])}.bt_index_check(format('%I.%I', @index_schema, @index_name)::regclass, false)",
        P("index_schema", indexSchema), P("index_name", index));

    // One pass over the index's leaf pages, grouped by row pointer (an aggregate reads every entry before it returns), then the
    // table's size, read after: an entry added meanwhile points into a block that exists by then. Block 0 is the metapage;
    // deleted and half-dead pages are skipped by type (l leaf, r root). shared_rows: row pointers held by more than one entry,
    // which a healthy index never has (one entry per row version it indexes); it is how the damage shows once the partition has
    // grown back over the discarded blocks and those entries point at other rows.
    public SqlStatement EntriesReach(IReadOnlyDictionary<string, string> toolSchemas, string indexSchema, string index)
    {
        var pi = Q(toolSchemas[PageInspect]);
        return SqlStatement.Of($"""
            WITH ix AS (SELECT format('%I.%I', @index_schema, @index_name) AS name),
            per_row AS (
                SELECT tid, count(*) AS n
                FROM ix
                CROSS JOIN LATERAL generate_series(1,
                    pg_relation_size(ix.name::regclass) / current_setting('block_size')::bigint - 1) AS blk
                CROSS JOIN LATERAL {pi}.bt_page_stats(ix.name, blk) s
                CROSS JOIN LATERAL {pi}.bt_page_items(ix.name, blk) i
                CROSS JOIN LATERAL unnest(coalesce(i.tids, ARRAY[i.htid])) AS tid
                WHERE s.type IN ('l', 'r') AND s.btpo_level = 0 AND NOT (s.btpo_next <> 0 AND i.itemoffset = 1)
                GROUP BY tid)
            SELECT e.entries, e.max_block, e.shared_rows,
                   pg_relation_size(x.indrelid) / current_setting('block_size')::bigint AS table_blocks
            FROM (SELECT coalesce(sum(n), 0) AS entries, max((tid::text::point)[0])::bigint AS max_block,
                         count(*) FILTER (WHERE n > 1) AS shared_rows
                  FROM per_row) e
            CROSS JOIN ix
            JOIN pg_index x ON x.indexrelid = ix.name::regclass
            """, P("index_schema", indexSchema), P("index_name", index));
    }

    public string Repair(string indexSchema, string index) => $"REINDEX INDEX CONCURRENTLY {Q(indexSchema)}.{Q(index)};";

    public string? DropLeftover(string indexSchema, string index) =>
        LeftoverName().IsMatch(index) ? $"DROP INDEX CONCURRENTLY {Q(indexSchema)}.{Q(index)};" : null;

    // REINDEX CONCURRENTLY names its new copy <index>_ccnew (then _ccnew1, ...).
    [GeneratedRegex("_ccnew[0-9]*$")]
    private static partial Regex LeftoverName();
}
