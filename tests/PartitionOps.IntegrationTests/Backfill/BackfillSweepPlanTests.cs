using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// The sweeps (after each type's walk, and the final pass over every type) find stragglers through the default
/// partition's filtered index, which holds only them, instead of reading every row of the type again by primary key.
/// Checked on the plan PostgreSQL picks with the statistics it has right after a run (from before it: every row default).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillSweepPlanTests(PostgresFixture postgres)
{
    /// <remarks>On the FHIR shape (partitioned by type). On a plain table of this test's size the planner prefers a
    /// bitmap scan of the primary key whatever the order; at a million rows it takes the filtered index too (README).</remarks>
    [Fact]
    public async Task The_sweep_reads_the_default_partition_index_not_every_row_of_the_type()
    {
        const bool partitioned = true;
        var db = await BackfillHarness.CreateAsync(postgres, rows: 40_000, partitioned: partitioned);
        var service = new BackfillService();
        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request() with { SkipBackfill = true })).Status);
        await db.ExecAsync("""ANALYZE "Resource" """); // statistics of a table before its backfill
        Assert.Equal(BackfillStatus.Done, (await service.StartAsync(db.Request())).Status);

        var p = BackfillProfile.Fhir;
        var sweep = new PostgreSqlBackfillDialect().SweepText(new BackfillTable("public", p, "partitionops"));
        await using var c = await db.OpenAsync();
        await using var tx = await c.BeginTransactionAsync(); // EXPLAIN ANALYZE runs it: rolled back, though it finds nothing
        await using var explain = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + sweep.Text, c, tx);
        foreach (var (name, value) in new (string, object)[]
                 { ("run_id", 1L), ("type_id", (short)4), ("upto_key", long.MaxValue), ("batch_size", 5000), ("target_value", 1),
                     ("source_value", 2) })
            explain.Parameters.AddWithValue(name, value);
        var plan = new List<string>();
        await using (var r = await explain.ExecuteReaderAsync())
            while (await r.ReadAsync()) plan.Add(r.GetString(0));
        await tx.RollbackAsync();

        var text = string.Join("\n", plan);
        // Partition indexes get names PostgreSQL derives (cut to 63 bytes), all starting like the parent's.
        Assert.True(text.Contains("IX_Resource_DefaultPartition"), text);
        Assert.DoesNotMatch(@"Resource_\d+_pkey", text);
    }
}
