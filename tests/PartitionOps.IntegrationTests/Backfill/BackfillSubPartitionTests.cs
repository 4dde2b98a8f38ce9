using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>Phase 2 on a table partitioned on three levels: every leaf built concurrently, every level attached.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillSubPartitionTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();
    private static readonly string[] IndexNames = [BackfillProfile.Fhir.SystemIndexName, BackfillProfile.Fhir.DefaultIndexName];

    private static string ChildIndex(string index, string partition) =>
        PostgreSqlBackfillDialect.PartitionIndexName(index, new TablePartition("public", partition));

    /// <summary>The index's tree: itself plus one index per partition at every level, and how many are not valid.</summary>
    private static async Task<(long Members, long Invalid)> IndexTreeAsync(BackfillHarness db, string index) => (
        await db.ScalarAsync<long>($"""SELECT count(*) FROM pg_partition_tree('"public"."{index}"'::regclass)"""),
        await db.ScalarAsync<long>($"""
            SELECT count(*) FROM pg_partition_tree('"public"."{index}"'::regclass) t JOIN pg_index x ON x.indexrelid = t.relid
            WHERE NOT x.indisvalid
            """));

    [Fact]
    public async Task Every_leaf_is_built_concurrently_every_level_gets_an_on_only_index_and_they_attach_bottom_up()
    {
        var db = await BackfillHarness.CreateSubPartitionedAsync(postgres);
        var system = await db.SystemRowsAsync();

        var plan = (await _service.StartAsync(db.Request() with { DryRun = true })).Plan!;
        var index = plan.Steps.Where(s => s.Phase == "index").Select(s => s.Statements.Select(x => x.Text).ToList()).ToList();
        Assert.Equal(2, index.Count);
        foreach (var (statements, name) in index.Zip(IndexNames))
        {
            foreach (var (partition, isLeaf, _) in BackfillHarness.SubPartitionTree)
            {
                var create = Assert.Single(statements,
                    s => s.StartsWith("CREATE", StringComparison.Ordinal)
                    && s.Contains($" ON ONLY \"public\".\"{partition}\" (") | s.Contains($" ON \"public\".\"{partition}\" ("));
                Assert.Equal(isLeaf, create.Contains("CONCURRENTLY"));
                Assert.Equal(!isLeaf, create.Contains("ON ONLY"));
                Assert.Contains($"ATTACH PARTITION \"public\".\"{ChildIndex(name, partition)}\"", string.Join('\n', statements));
            }
            // Bottom-up: the deepest sub-partitioned index joins its parent's before that one joins the table's.
            int Attach(string partition) =>
                statements.FindIndex(s => s.EndsWith($"ATTACH PARTITION \"public\".\"{ChildIndex(name, partition)}\"",
                StringComparison.Ordinal));
            Assert.True(Attach("Resource_user_high_h1") < Attach("Resource_user_high"));
            Assert.True(Attach("Resource_user_high") < Attach("Resource_user"));
            Assert.Contains($"ALTER INDEX \"public\".\"{ChildIndex(name, "Resource_user")}\" ATTACH PARTITION " +
                $"\"public\".\"{ChildIndex(name, "Resource_user_high")}\"", statements);
            Assert.Contains($"ALTER INDEX \"public\".\"{name}\" ATTACH PARTITION \"public\".\"{ChildIndex(name, "Resource_user")}\"",
                statements);
        }

        var result = await _service.StartAsync(db.Request());

        Assert.True(result.Status == BackfillStatus.Done, $"{result.Status}: {result.StopReason}");
        Assert.Equal(2, result.IndexesBuilt.Count);
        foreach (var name in IndexNames)
            Assert.Equal((1L + BackfillHarness.SubPartitionTree.Count, 0L), await IndexTreeAsync(db, name));
        Assert.Equal(system, result.RowsUpdated);
        Assert.Equal(0, await db.MisplacedAsync());

        var rerun = await _service.StartAsync(db.Request());
        Assert.Equal(BackfillStatus.Done, rerun.Status);
        Assert.Empty(rerun.IndexesBuilt);
    }

    [Fact]
    public async Task A_leaf_build_that_failed_deep_in_the_tree_is_dropped_rebuilt_and_attached_on_the_rerun()
    {
        var db = await BackfillHarness.CreateSubPartitionedAsync(postgres);
        // A duplicate key in the deepest last leaf makes its unique build fail after the other leaves succeeded.
        var leaf = "Resource_user_high_h1";
        Assert.True(await db.ScalarAsync<long>($"""SELECT count(*) FROM "{leaf}" """) > 0);
        await db.ExecAsync($"""
            INSERT INTO "Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "RawResource")
            SELECT "ResourceTypeId", "ResourceSurrogateId" + 1, "ResourceId", "Version", 'duplicate'
            FROM "{leaf}" ORDER BY "ResourceSurrogateId" LIMIT 1
            """);

        var failure = await Assert.ThrowsAsync<PostgresException>(() => _service.StartAsync(db.Request() with { SkipBackfill = true }));
        Assert.Equal("23505", failure.SqlState);
        var defaultIndex = BackfillProfile.Fhir.DefaultIndexName;
        var broken = ChildIndex(defaultIndex, leaf);
        Assert.Equal(0L, await db.ScalarAsync<long>(
            $"""SELECT count(*) FROM pg_index WHERE indexrelid = '"public"."{broken}"'::regclass AND indisvalid"""));
        Assert.Equal(1L, await db.ScalarAsync<long>(
            $"""SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid """ +
            $"""WHERE i.relname = '{defaultIndex}' AND NOT x.indisvalid"""));

        // The plan repairs only what is missing: the invalid leaf index is dropped and built again, nothing is
        // created twice, and the levels above it are attached.
        var plan = (await _service.StartAsync(db.Request() with { DryRun = true, SkipBackfill = true })).Plan!;
        var repair = Assert.Single(plan.Steps, s => s.Description.Contains(defaultIndex)).Statements.Select(s => s.Text).ToList();
        Assert.Contains($"DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"{broken}\"", repair);
        Assert.DoesNotContain(repair, s => s.Contains($"ON ONLY \"public\".\"Resource\" "));
        Assert.DoesNotContain(repair, s => s.StartsWith("CREATE", StringComparison.Ordinal) && s.Contains("\"Resource_user_low\""));
        Assert.Contains(repair, s => s.StartsWith("CREATE UNIQUE INDEX CONCURRENTLY", StringComparison.Ordinal)
            && s.Contains($"\"{leaf}\""));
        Assert.Contains($"ALTER INDEX \"public\".\"{defaultIndex}\" ATTACH PARTITION " +
            $"\"public\".\"{ChildIndex(defaultIndex, "Resource_user")}\"", repair);

        await db.ExecAsync($"""DELETE FROM "Resource" WHERE "RawResource" = 'duplicate'""");
        var rerun = await _service.StartAsync(db.Request());

        Assert.True(rerun.Status == BackfillStatus.Done, $"{rerun.Status}: {rerun.StopReason}");
        foreach (var name in IndexNames)
            Assert.Equal((1L + BackfillHarness.SubPartitionTree.Count, 0L), await IndexTreeAsync(db, name));
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.DoesNotContain((await _service.StartAsync(db.Request() with { DryRun = true })).Plan!.Steps, s => s.Phase == "index");
    }
}
