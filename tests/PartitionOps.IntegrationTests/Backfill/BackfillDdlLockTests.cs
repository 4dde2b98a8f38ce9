using Npgsql;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// Phases 1 and 2 against a session that holds a lock on the table: the DDL gives up after its short lock
/// timeout and tries again; what a failed attempt left behind (an INVALID index) is repaired in the same run.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillDdlLockTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    /// <summary>An open transaction that wrote to the table (ROW EXCLUSIVE on it and, recursively, on every partition).</summary>
    private static async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> HoldWriterAsync(BackfillHarness db, string mode,
        string table = "Resource")
    {
        var connection = await db.OpenAsync();
        var tx = await connection.BeginTransactionAsync();
        await using var cmd = new NpgsqlCommand($"""LOCK TABLE "{table}" IN {mode} MODE""", connection, tx);
        await cmd.ExecuteNonQueryAsync();
        return (connection, tx);
    }

    /// <summary>Invalid indexes of ours on tables that hold rows (a partitioned table's index is invalid until complete).</summary>
    private static Task<long> InvalidIndexesAsync(BackfillHarness db) => db.ScalarAsync<long>("""
        SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
        WHERE NOT i.indisvalid AND c.relname LIKE 'IX_Resource_%Partition%' AND t.relkind = 'r'
        """);

    private static Task<long> ValidIndexesAsync(BackfillHarness db, string name) => db.ScalarAsync<long>($"""
        SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisvalid AND c.relname = '{name}'
        """);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_concurrent_index_build_that_times_out_on_a_lock_is_dropped_and_rebuilt_valid_in_the_same_run(bool partitioned)
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 5_000, types: 12, partitioned: partitioned);
        await _service.StartAsync(db.Request() with { SkipIndexes = true, SkipBackfill = true });

        // CREATE INDEX CONCURRENTLY records the index (invalid) first, then waits for every transaction that
        // writes to the table: an open writer makes that wait time out, leaving the INVALID index behind.
        // Partitioned, the writer holds one leaf (the ON ONLY index on the parent goes through; that leaf's build times out).
        var (blocker, tx) = await HoldWriterAsync(db, "ROW EXCLUSIVE", partitioned ? "Resource_1" : "Resource");
        var retries = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Phase == "index" && e.Message.Contains("lock not granted") && Interlocked.Increment(ref retries) == 2)
            {
                // An invalid index exists now (left by the attempt that timed out); then the writer commits.
                Assert.True(InvalidIndexesAsync(db).GetAwaiter().GetResult() > 0,
                    "expected the timed-out build to have left an invalid index");
                tx.Commit();
            }
        });
        try
        {
            var result = await _service.StartAsync(
                db.Request() with { SkipBackfill = true, DdlLockTimeout = TimeSpan.FromMilliseconds(300) }, progress);

            Assert.Equal(BackfillStatus.Done, result.Status);
            Assert.True(retries >= 2, $"expected lock retries, saw {retries}");
            Assert.Equal(0, await InvalidIndexesAsync(db));
            var p = BackfillProfile.Fhir;
            Assert.Equal(1, await ValidIndexesAsync(db, p.SystemIndexName));
            Assert.Equal(1, await ValidIndexesAsync(db, p.DefaultIndexName));
        }
        finally
        {
            await blocker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Phase_1_waits_for_a_reader_in_an_open_transaction_and_retries_until_it_ends()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        // Any open transaction that read the table holds ACCESS SHARE, and ADD COLUMN needs ACCESS EXCLUSIVE.
        var (blocker, tx) = await HoldWriterAsync(db, "ACCESS SHARE");
        var retries = 0;
        var progress = new InlineProgress(e =>
        {
            if (e.Phase == "column" && e.Message.Contains("lock not granted") && Interlocked.Increment(ref retries) == 3)
                tx.Commit();
        });
        try
        {
            var result = await _service.StartAsync(db.Request() with
            {
                SkipIndexes = true, SkipBackfill = true, DdlLockTimeout = TimeSpan.FromMilliseconds(100), DdlRetries = 10,
            }, progress);

            Assert.Equal(BackfillStatus.Done, result.Status);
            Assert.True(result.ColumnAdded);
            Assert.Equal(3, retries);
            Assert.Contains(progress.Events, e => e.Phase == "column" && e.Message.Contains("attempt 1 of 10"));
            Assert.Equal(1L, await db.ScalarAsync<long>("""
                SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'
                """));
        }
        finally
        {
            await blocker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Phase_1_fails_with_a_message_naming_the_lock_wait_when_the_lock_outlasts_every_retry_and_changes_nothing()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 10);
        var (blocker, _) = await HoldWriterAsync(db, "ACCESS SHARE");
        var progress = new InlineProgress(_ => { });
        try
        {
            var error = await Assert.ThrowsAsync<PartitionOpsException>(() => _service.StartAsync(db.Request() with
            {
                DdlLockTimeout = TimeSpan.FromMilliseconds(50), DdlRetries = 3,
            }, progress));

            Assert.Contains("lock", error.Message);
            Assert.Contains("public.Resource", error.Message);
            Assert.Contains("3 attempts", error.Message);
            Assert.Contains("lock timeout", error.InnerException!.Message);
            Assert.Equal(2, progress.Events.Count(e => e.Phase == "column" && e.Message.Contains("lock not granted")));
        }
        finally
        {
            await blocker.DisposeAsync();
        }
        // Nothing changed on the table: no column, no index, no row.
        Assert.Equal(0L, await db.ScalarAsync<long>("""
            SELECT count(*) FROM information_schema.columns WHERE table_name = 'Resource' AND column_name = 'PartitionId'
            """));
        Assert.Equal(0L, await db.ScalarAsync<long>("""SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'IX_Resource_%Partition%'"""));
    }
}
