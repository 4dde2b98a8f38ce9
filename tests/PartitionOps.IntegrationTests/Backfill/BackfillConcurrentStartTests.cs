using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>Two first starts at once on a table that has neither the column nor the indexes yet.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillConcurrentStartTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_first_starts_at_once_serialize_phases_1_and_2_share_one_run_and_the_table_ends_complete(bool partitioned)
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 20_000, partitioned: partitioned);
        var system = await db.SystemRowsAsync();
        var first = new InlineProgress(_ => { });
        var second = new InlineProgress(_ => { });
        var request = db.Request(batchSize: 200) with { TargetBatchTime = TimeSpan.Zero, Parallelism = 2 };

        // Neither fails on the other's DDL (before: a raw 23505 or 2BP01 from the catalog in phase 2).
        var results = await Task.WhenAll(Task.Run(() => _service.StartAsync(request, first)),
            Task.Run(() => _service.StartAsync(request, second)));

        Assert.All(results, r => Assert.NotEqual(BackfillStatus.Failed, r.Status));
        // One ran phases 1 and 2; the other waited for it, said so, and found nothing left to build.
        Assert.Single(results, r => r.ColumnAdded);
        Assert.Equal(1, results.Count(r => r.IndexesBuilt.Count == 2));
        var waiter = results[0].ColumnAdded ? second : first;
        Assert.Contains(waiter.Events, e => e.Phase == "start" && e.Message.Contains("another runner is adding the column"));
        // The table ends complete: one run, done; every row placed once; both indexes valid everywhere.
        Assert.Contains(results, r => r.Status == BackfillStatus.Done);
        // The waiter joins the first runner's run, or, when that one finished while it waited, reruns it (a catch-up
        // from where it ended). Either way no run is left anything but done.
        Assert.InRange(await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.backfill_run"), 1, 2);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM partitionops.backfill_run WHERE status <> 'done'"));
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Equal(system, await db.ScalarAsync<long>("SELECT sum(rows_updated) FROM partitionops.backfill_checkpoint"));
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        var p = BackfillProfile.Fhir;
        Assert.Equal(2, await db.ScalarAsync<long>(
            $"SELECT count(*) FROM pg_class WHERE relname IN ('{p.SystemIndexName}', '{p.DefaultIndexName}') AND relnamespace = " +
                $"'public'::regnamespace"));
    }
}
