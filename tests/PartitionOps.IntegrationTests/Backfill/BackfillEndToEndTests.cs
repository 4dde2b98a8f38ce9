using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

[Collection(PostgresCollection.Name)]
public sealed class BackfillEndToEndTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_full_run_adds_the_column_builds_both_indexes_and_places_every_row(bool partitioned)
    {
        var db = await BackfillHarness.CreateAsync(postgres, partitioned: partitioned);
        var total = await db.TotalRowsAsync();
        var system = await db.SystemRowsAsync();

        var result = await _service.StartAsync(db.Request());

        Assert.True(result.Status == BackfillStatus.Done, $"{result.Status}: {result.StopReason}");
        Assert.True(result.ColumnAdded);
        Assert.Equal(system, result.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Equal(system, await db.RowsAtAsync(1));
        Assert.Equal(total - system, await db.RowsAtAsync(2));
        Assert.Equal(total, await db.TotalRowsAsync());
        // The rate is phase 3's: its own rows over its own time, not the index builds before it.
        Assert.Equal(result.RowsScanned, result.Phase3RowsScanned);
        Assert.InRange(result.Phase3Elapsed, TimeSpan.FromTicks(1), result.Elapsed);
        Assert.Equal(result.Phase3RowsScanned / result.Phase3Elapsed.TotalSeconds, result.RowsPerSecond, 6);
        // Both filtered unique indexes exist and are valid on the parent.
        Assert.Equal(2L, await db.ScalarAsync<long>("""
            SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = '"Resource"'::regclass AND x.indisvalid AND x.indisunique
              AND i.relname IN ('IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version',
                                'IX_Resource_DefaultPartition_ResourceTypeId_ResourceId_Version')
            """));

        var integrity = await _service.ValidateAsync(db.Scope);
        Assert.True(integrity.Passed);
        Assert.Equal(7, integrity.Types.Count);
    }

    [Fact]
    public async Task A_rerun_changes_nothing_and_only_catches_up()
    {
        var db = await BackfillHarness.CreateAsync(postgres);
        var first = await _service.StartAsync(db.Request());
        var second = await _service.StartAsync(db.Request());

        Assert.Equal(BackfillStatus.Done, second.Status);
        Assert.False(second.ColumnAdded);
        Assert.Empty(second.IndexesBuilt);
        Assert.Equal(0, second.RowsUpdated);
        Assert.NotEqual(first.RunId, second.RunId);
        // Seeded from the finished run: nothing below its checkpoints is walked again.
        Assert.Equal(0, second.RowsScanned);
    }
}
