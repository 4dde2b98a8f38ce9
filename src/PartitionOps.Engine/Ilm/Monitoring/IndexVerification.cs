using System.Data.Common;
using System.Globalization;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm.Monitoring;

/// <summary>An extension (or package) the index checks need, how to install it and what it lets the check see.</summary>
public sealed record IndexCheckTool(string Name, string Install, string Checks);

/// <summary>
/// The SQL of <c>ilm health --verify-indexes</c> for one database kind. Every statement only reads: no lock stronger
/// than a reader's, nothing written. A dialect without such checks returns null from <see cref="IIlmDialect.IndexChecks"/>.
/// </summary>
public interface IIlmIndexChecks
{
    /// <summary>What the checks need, in the order they are named in a message.</summary>
    IReadOnlyList<IndexCheckTool> Tools { get; }

    /// <summary>name, schema_name of each of <see cref="Tools"/> that is installed.</summary>
    SqlStatement InstalledTools();

    /// <summary>index_schema, index_name, partition_name, is_valid: every index the checks can verify, of every partition.</summary>
    SqlStatement Indexes(string? schema, string table);

    /// <summary>
    /// The structural check of one index (returns no value; an error means damage). <paramref name="toolSchemas"/>: tool name -> schema.
    /// </summary>
    SqlStatement CheckStructure(IReadOnlyDictionary<string, string> toolSchemas, string indexSchema, string index);

    /// <summary>
    /// One row: entries, max_block (the highest table block an entry points to; null when there are none), shared_rows (row
    /// pointers held by more than one entry) and table_blocks (the table's size in blocks, read after the index).
    /// </summary>
    SqlStatement EntriesReach(IReadOnlyDictionary<string, string> toolSchemas, string indexSchema, string index);

    /// <summary>The statement that repairs a damaged index without blocking writers, as the operator types it.</summary>
    string Repair(string indexSchema, string index);

    /// <summary>The statement that drops an invalid index left by an interrupted concurrent rebuild, or null when it is not one.</summary>
    string? DropLeftover(string indexSchema, string index);
}

/// <summary>One index looked at: <see cref="Status"/> ok, damaged, invalid or not verified; <see cref="Fix"/>: what to run.</summary>
public sealed record IndexFinding(string Schema, string Index, string Partition, string Status, string? Problem = null, string? Fix = null)
{
    public const string Ok = "ok";
    public const string Damaged = "damaged";
    public const string Invalid = "invalid";
    public const string NotVerified = "not verified";
}

/// <summary>
/// What <c>--verify-indexes</c> found. <see cref="CannotRun"/> says why nothing could be verified (and how to make it
/// possible); otherwise <see cref="Findings"/> has one row per index.
/// </summary>
public sealed record IndexVerification(string? CannotRun, IReadOnlyList<IndexFinding> Findings)
{
    public IEnumerable<IndexFinding> Problems => Findings.Where(f => f.Status != IndexFinding.Ok);
}

/// <summary>Runs <see cref="IIlmIndexChecks"/> over every index of one table's partitions.</summary>
public static class IndexVerifier
{
    /// <summary>SQLSTATE 42501 insufficient_privilege: the checks' functions are not granted to this user.</summary>
    private const string InsufficientPrivilege = "42501";

    /// <summary>
    /// Each check reads a whole index, longer than a command timeout meant for catalog reads may allow: none (0). Ctrl+C still cancels.
    /// </summary>
    private const int NoTimeout = 0;

    public static async Task<IndexVerification> VerifyAsync(DbConnection connection, IDatabaseProvider provider, IIlmIndexChecks? checks,
        string providerName, string? schema, string table, CancellationToken ct)
    {
        if (checks is null)
            return new IndexVerification($"{providerName} has no read-only index verification here: nothing was checked", []);
        var installed = (await connection.QueryAsync(provider, checks.InstalledTools(),
                r => (Name: r.Get<string>("name")!, Schema: r.Get<string>("schema_name")!), ct).ConfigureAwait(false))
            .ToDictionary(t => t.Name, t => t.Schema, StringComparer.Ordinal);
        var missing = checks.Tools.Where(t => !installed.ContainsKey(t.Name)).ToList();
        if (missing.Count > 0)
            return new IndexVerification(
                $"cannot verify the indexes: {string.Join(" and ", missing.Select(t => t.Name))} " +
                $"{(missing.Count == 1 ? "is" : "are")} not installed in this database. " +
                $"Run {string.Join(" ", missing.Select(t => t.Install))} " +
                "(as a superuser; both ship with PostgreSQL's contrib package). " +
                string.Join(" ", missing.Select(t => $"{t.Name} {t.Checks}.")), []);

        var indexes = await connection.QueryAsync(provider, checks.Indexes(schema, table), r => (
            Schema: r.Get<string>("index_schema")!, Index: r.Get<string>("index_name")!,
            Partition: r.Get<string>("partition_name")!, Valid: r.Get<bool>("is_valid")), ct).ConfigureAwait(false);
        var findings = new List<IndexFinding>();
        foreach (var ix in indexes)
        {
            ct.ThrowIfCancellationRequested();
            if (!ix.Valid)
            {
                // An invalid index is not used by queries and cannot be checked; a leftover copy of a failed rebuild is dropped.
                var drop = checks.DropLeftover(ix.Schema, ix.Index);
                findings.Add(new IndexFinding(ix.Schema, ix.Index, ix.Partition, IndexFinding.Invalid,
                    drop is null ? "is INVALID (a concurrent build or rebuild did not finish): queries do not use it"
                                 : "is an INVALID leftover of an interrupted REINDEX CONCURRENTLY",
                    drop ?? checks.Repair(ix.Schema, ix.Index)));
                continue;
            }
            // Npgsql closes the connection after some server errors (seen after amcheck's XX002): open it again for the next index.
            await connection.EnsureOpenAsync(ct).ConfigureAwait(false);
            findings.Add(await VerifyOneAsync(connection, provider, checks, installed, ix.Schema, ix.Index, ix.Partition, ct)
                .ConfigureAwait(false));
        }
        return new IndexVerification(null, findings);
    }

    private static async Task<IndexFinding> VerifyOneAsync(DbConnection connection, IDatabaseProvider provider, IIlmIndexChecks checks,
        IReadOnlyDictionary<string, string> tools, string schema, string index, string partition, CancellationToken ct)
    {
        var fix = checks.Repair(schema, index);
        try
        {
            await connection.ExecuteAsync(provider, checks.CheckStructure(tools, schema, index), ct, timeoutSeconds: NoTimeout)
                .ConfigureAwait(false);
            // The structural check does not look at where entries point: entries past the table's end, or two entries on one
            // row, are found here. The size is read after the entries, so a table growing meanwhile raises no false alarm; a hit
            // is read once more before it is reported, for a VACUUM that truncated the table between the two reads (it removes
            // entries first) or a page split that moved entries to a page read later in the same pass.
            for (var attempt = 0; ; attempt++)
            {
                var reach = (await connection.QueryAsync(provider, checks.EntriesReach(tools, schema, index), r => (
                    MaxBlock: r.Get<long?>("max_block"), TableBlocks: r.Get<long>("table_blocks"), Shared: r.Get<long>("shared_rows")), ct,
                    timeoutSeconds: NoTimeout).ConfigureAwait(false)).Single();
                var pastEnd = reach.MaxBlock is { } max && max >= reach.TableBlocks;
                if (!pastEnd && reach.Shared == 0) return new IndexFinding(schema, index, partition, IndexFinding.Ok);
                if (attempt == 0) continue;
                var maxBlock = reach.MaxBlock!.Value.ToString(CultureInfo.InvariantCulture);
                var blocks = reach.TableBlocks.ToString(CultureInfo.InvariantCulture);
                var shared = reach.Shared.ToString(CultureInfo.InvariantCulture);
                var what = pastEnd
                    ? $"has entries pointing to block {maxBlock} of {partition}, which has {blocks} block(s)"
                    : $"has {shared} row pointer(s) of {partition} held by two entries or more";
                return new IndexFinding(schema, index, partition, IndexFinding.Damaged,
                    what + ": stale entries of a rolled-back write into a relation whose tablespace changed in the same transaction " +
                    "(an earlier version's merge); queries through it fail with \"could not read block\", return wrong rows or report " +
                    "false duplicate keys", fix);
            }
        }
        catch (DbException e) when (e.SqlState == InsufficientPrivilege)
        {
            return new IndexFinding(schema, index, partition, IndexFinding.NotVerified,
                $"could not be verified: {e.Message} (the checks' functions need a superuser or an explicit GRANT EXECUTE)");
        }
        catch (DbException e) when (e.SqlState is { } state && !state.StartsWith("08", StringComparison.Ordinal)
                                    && !state.StartsWith("57", StringComparison.Ordinal))
        {
            // The server refused the index (amcheck raises XX002 index_corrupted for a damaged structure). A lost connection
            // (class 08), a cancel or shutdown (class 57) or a client-side failure (no SQLSTATE) says nothing of the index.
            return new IndexFinding(schema, index, partition, IndexFinding.Damaged, $"failed verification: {e.Message}", fix);
        }
    }
}
