using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Model;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>Records every statement point of a run (to enumerate the boundaries a fault can hit).</summary>
internal sealed class RecordingHook : IIlmStatementHook
{
    public List<IlmStatementPoint> Points { get; } = [];

    public Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
    {
        if (point.Action != null) Points.Add(point);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Runs <paramref name="fault"/> once, before the statement point number <paramref name="at"/> of the run's actions
/// (counted as <see cref="RecordingHook"/> counts them). Remembers the runner's backend pid (taken before the run lock).
/// </summary>
internal sealed class FaultHook(int at, Func<IlmStatementPoint, int, Task> fault) : IIlmStatementHook
{
    private int _seen;

    public int BackendPid { get; private set; }
    public IlmStatementPoint? FiredAt { get; private set; }

    public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
    {
        if (point.Action is null)
        {
            await using var pid = point.Connection.CreateCommand();
            pid.CommandText = "SELECT pg_backend_pid()";
            BackendPid = (int)(await pid.ExecuteScalarAsync(ct))!;
            return;
        }
        if (_seen++ != at) return;
        FiredAt = point;
        await fault(point, BackendPid);
    }
}

/// <summary>The checks every fault test ends with, written in our own SQL (not through the engine under test).</summary>
internal static class IlmInvariants
{
    /// <summary>A statement's first 70 characters, for a test's failure context.</summary>
    public static string Short(string text) => text.Length <= 70 ? text : text[..70] + "...";

    /// <summary>Each partition's name and bounds, in bound order.</summary>
    public static List<string> Bounds(PartitionLayout layout) =>
        layout.InBoundOrder().Select(p => $"{p.Name} [{p.LowerBound:yyyy-MM-dd}, {p.UpperBound:yyyy-MM-dd})").ToList();

    /// <summary>Names, bounds and tiers (tablespace names carry a per-database suffix): what a converged run must show.</summary>
    public static List<string> Shape(IlmTestDatabase db, PartitionLayout layout) =>
        layout.InBoundOrder().Select(p => $"{p.Name} [{p.LowerBound:yyyy-MM-dd}, {p.UpperBound:yyyy-MM-dd}) " +
            (p.Tablespace == db.Hot ? "hot" : p.Tablespace == db.Warm ? "warm" : p.Tablespace == db.Cold ? "cold" : p.Tablespace))
            .ToList();

    /// <summary>rows and sum(amount) per month of data.</summary>
    public static async Task<SortedDictionary<string, (long Rows, decimal Sum)>> MonthsAsync(IlmTestDatabase db)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT to_char(sale_date, 'YYYY-MM'), count(*), sum(amount) FROM public.sales GROUP BY 1", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var months = new SortedDictionary<string, (long, decimal)>(StringComparer.Ordinal);
        while (await reader.ReadAsync()) months[reader.GetString(0)] = (reader.GetInt64(1), reader.GetDecimal(2));
        return months;
    }

    /// <summary>
    /// Every row in place (per-month counts and sums), bounds contiguous, every index valid, structurally sound (amcheck's
    /// bt_index_check with heapallindexed) and readable (the same counts and sums through forced index scans: an index
    /// entry pointing into a discarded heap file fails here with "could not read block").
    /// </summary>
    public static async Task AssertIntactAsync(IlmTestDatabase db, SortedDictionary<string, (long Rows, decimal Sum)> expected,
        IReadOnlyList<(DateTime? From, DateTime? To)> coverage, string context)
    {
        Assert.True(expected.SequenceEqual(await MonthsAsync(db)), $"{context}: per-month rows or sums changed");
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();

        var parts = (await LayoutAsync(db)).InBoundOrder().ToList();
        Assert.True(coverage.SequenceEqual(Coverage(parts)),
            $"{context}: the partitions no longer cover the same ranges (a gap or a lost range)");

        await Execute(connection, "CREATE EXTENSION IF NOT EXISTS amcheck");
        Assert.Equal(0L, await Scalar<long>(connection, """
            SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indrelid
            WHERE h.inhparent = 'public.sales'::regclass AND NOT (i.indisvalid AND i.indisready)
            """));
        var checkedIndexes = await Scalar<long>(connection, """
            SELECT count(bt_index_check(i.indexrelid, true))
            FROM pg_index i
            JOIN pg_inherits h ON h.inhrelid = i.indrelid
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_am a ON a.oid = c.relam
            WHERE h.inhparent = 'public.sales'::regclass AND a.amname = 'btree'
            """);
        Assert.True(checkedIndexes >= parts.Count, $"{context}: amcheck looked at {checkedIndexes} indexes for {parts.Count} partitions");

        await using var tx = await connection.BeginTransactionAsync();
        await Execute(connection,
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexonlyscan = off", tx);
        await using var viaIndex = new NpgsqlCommand(
            "SELECT count(*), coalesce(sum(amount), 0) FROM public.sales WHERE sale_date >= '1900-01-01'", connection, tx);
        await using var reader = await viaIndex.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((expected.Values.Sum(v => v.Rows), expected.Values.Sum(v => v.Sum)), (reader.GetInt64(0), reader.GetDecimal(1)));
    }

    public static async Task<PartitionLayout> LayoutAsync(IlmTestDatabase db)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        return await IlmCatalog.ReadAsync(connection, PostgreSqlProvider.Instance, "public", "sales", CancellationToken.None);
    }

    /// <summary>The ranges the partitions cover, adjacent ones joined: equal before and after means bounds stay contiguous.</summary>
    public static List<(DateTime? From, DateTime? To)> Coverage(IEnumerable<PartitionInfo> inBoundOrder)
    {
        var ranges = new List<(DateTime? From, DateTime? To)>();
        foreach (var p in inBoundOrder)
        {
            if (ranges.Count > 0 && ranges[^1].To == p.LowerBound) ranges[^1] = (ranges[^1].From, p.UpperBound);
            else ranges.Add((p.LowerBound, p.UpperBound));
        }
        return ranges;
    }

    /// <summary>
    /// Nothing of ours left: no rebuild or log table, no marked table, no temporary constraint, no capture trigger, no
    /// capture function.
    /// </summary>
    public static async Task AssertNoLeftoversAsync(IlmTestDatabase db, string context)
    {
        var left = await db.ScalarAsync<long>($"""
            SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE '%{PostgreSqlIlmDialect.RebuildSuffix}'
                    OR relname LIKE '%{PostgreSqlIlmDialect.LogSuffix}'
                    OR obj_description(oid, 'pg_class') LIKE 'partitionops ILM%')
                 + (SELECT count(*) FROM pg_constraint WHERE conname = '{PostgreSqlIlmDialect.BoundConstraint}')
                 + (SELECT count(*) FROM pg_trigger
                    WHERE tgname IN ('{PostgreSqlIlmDialect.CaptureTrigger}', '{PostgreSqlIlmDialect.TruncateTrigger}'))
                 + (SELECT count(*) FROM pg_proc WHERE proname LIKE '%{PostgreSqlIlmDialect.CaptureSuffix}'
                    OR obj_description(oid, 'pg_proc') LIKE 'partitionops ILM%')
            """);
        Assert.True(left == 0, $"{context}: {left} table(s), constraint(s), trigger(s) or function(s) of ours left behind");
    }

    public static async Task<List<(string Source, string Status)>> AuditAsync(IlmTestDatabase db) =>
        await db.ScalarAsync<bool>("SELECT to_regclass('partitionops.dwh_ilm_partition_merges') IS NOT NULL")
            ? (await db.AuditAsync()).Select(a => (a.Source, a.Status)).ToList()
            : [];

    public static async Task<List<(string Partition, string Status)>> MoveLogAsync(IlmTestDatabase db)
    {
        if (!await db.ScalarAsync<bool>("SELECT to_regclass('partitionops.dwh_ilm_execution_log') IS NOT NULL")) return [];
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT partition_name, status FROM partitionops.dwh_ilm_execution_log WHERE action = 'MOVE' ORDER BY execution_id",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string)>();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1)));
        return rows;
    }

    /// <summary>Terminates a backend from another session and waits until it is gone.</summary>
    public static async Task TerminateAsync(IlmTestDatabase db, int pid)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using (var kill = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", connection))
        {
            kill.Parameters.AddWithValue("pid", pid);
            Assert.True((bool)(await kill.ExecuteScalarAsync())!);
        }
        for (var i = 0; i < 200; i++)
        {
            await using var alive = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = @pid", connection);
            alive.Parameters.AddWithValue("pid", pid);
            if ((long)(await alive.ExecuteScalarAsync())! == 0) return;
            await Task.Delay(25);
        }
        Assert.Fail($"backend {pid} still alive after pg_terminate_backend");
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, NpgsqlTransaction? tx = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> Scalar<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
