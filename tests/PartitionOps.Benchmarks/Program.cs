using System.Diagnostics;
using Npgsql;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.LocalPostgres;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Sample;

// Backfill benchmark: one throwaway PostgreSQL, one FHIR-like table, four ways to move the system
// rows, measured side by side in this run. Usage: dotnet run -c Release --project tests/PartitionOps.Benchmarks [-- --rows 5000000]
var rows = args.Length >= 2 && args[0] == "--rows" ? long.Parse(args[1]) : 5_000_000;
var smallRows = Math.Max(rows / 5, 100_000);
const string SystemList = "('SearchParameter','OperationDefinition','StructureDefinition','ValueSet','CodeSystem','CapabilityStatement','CompartmentDefinition')";

// Buffers that hold the big table, as a production server's would: batch times then measure the algorithm, not cache misses.
await using var cluster = await ThrowawayPostgres.StartAsync(settings: new Dictionary<string, string> { ["autovacuum"] = "on", ["shared_buffers"] = "3GB" });
Console.WriteLine($"PostgreSQL at {cluster.Root}; building templates ({rows:N0} and {smallRows:N0} rows)...");
var big = await TemplateAsync("tpl_big", rows);
var small = await TemplateAsync("tpl_small", smallRows);

var results = new List<(string Name, double Seconds, long Rows, List<double> BatchMs)>();
results.Add(await MeasureAsync("partitionops (adaptive, 500 ms target)", big, (cs, log) => RunOursAsync(cs, log)));
results.Add(await MeasureAsync("spec loop (UPDATE TOP 10000 WHERE PartitionId = 2)", big, RunSpecLoopAsync));
results.Add(await MeasureAsync("one single UPDATE", big, RunSingleUpdateAsync));
results.Add(await MeasureAsync("in-server keyset loop (procedure, 5000/batch)", big, RunInServerKeysetAsync));

Console.WriteLine();
Console.WriteLine($"{"method",-52} {"rows",10} {"seconds",8} {"rows/s",10} {"p50 ms",8} {"p99 ms",8} {"max lock ms",11}");
foreach (var r in results)
    Console.WriteLine($"{r.Name,-52} {r.Rows,10:N0} {r.Seconds,8:0.0} {r.Rows / r.Seconds,10:N0} {Pct(r.BatchMs, 50),8:0} {Pct(r.BatchMs, 99),8:0} {r.BatchMs.DefaultIfEmpty(r.Seconds * 1000).Max(),11:0}");
var ours = results[0].Rows / results[0].Seconds;
Console.WriteLine();
Console.WriteLine($"ours / spec loop        = {ours / (results[1].Rows / results[1].Seconds):0.00}x   (target >= 10x)");
Console.WriteLine($"in-server keyset / ours = {(results[3].Rows / results[3].Seconds) / ours:0.00}x   (target <= 1.5x)");
Console.WriteLine($"single UPDATE / ours    = {(results[2].Rows / results[2].Seconds) / ours:0.00}x   (holds every row lock for {results[2].Seconds:0.0} s)");
Console.WriteLine($"ours p99 batch          = {Pct(results[0].BatchMs, 99):0} ms   (target < 1000 ms, twice the 500 ms target)");

// Flatness: the same fixed batch size on the small and the big table.
var flatSmall = await MeasureAsync($"partitionops fixed 5000/batch, {smallRows:N0} rows", small, (cs, log) => RunOursAsync(cs, log, fixedBatch: 5000));
var flatBig = await MeasureAsync($"partitionops fixed 5000/batch, {rows:N0} rows", big, (cs, log) => RunOursAsync(cs, log, fixedBatch: 5000));
var specSmall = await MeasureAsync($"spec loop, {smallRows:N0} rows", small, RunSpecLoopAsync);
var serverSmall = await MeasureAsync($"in-server keyset loop, {smallRows:N0} rows", small, RunInServerKeysetAsync);
Console.WriteLine($"ours p50 batch at {smallRows:N0} rows = {Pct(flatSmall.BatchMs, 50):0.0} ms, at {rows:N0} rows = {Pct(flatBig.BatchMs, 50):0.0} ms: ratio {Pct(flatBig.BatchMs, 50) / Pct(flatSmall.BatchMs, 50):0.00} (target within 1.20)");
Console.WriteLine($"in-server keyset p50 batch at {smallRows:N0} rows = {Pct(serverSmall.BatchMs, 50):0.0} ms, at {rows:N0} rows = {Pct(results[3].BatchMs, 50):0.0} ms: ratio {Pct(results[3].BatchMs, 50) / Pct(serverSmall.BatchMs, 50):0.00} (the same 5000-row batches run inside the server)");
Console.WriteLine($"spec loop p50 batch at {smallRows:N0} rows = {Pct(specSmall.BatchMs, 50):0.0} ms, at {rows:N0} rows = {Pct(results[1].BatchMs, 50):0.0} ms: ratio {Pct(results[1].BatchMs, 50) / Pct(specSmall.BatchMs, 50):0.00}");
return 0;

static double Pct(List<double> values, int p)
{
    if (values.Count == 0) return double.NaN;
    var sorted = values.OrderBy(v => v).ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

async Task<string> TemplateAsync(string name, long count)
{
    await using (var admin = new NpgsqlConnection(cluster.ConnectionString()))
    {
        await admin.OpenAsync();
        await new NpgsqlCommand($"CREATE DATABASE {name}", admin).ExecuteNonQueryAsync();
    }
    var cs = cluster.ConnectionString(name);
    var watch = Stopwatch.StartNew();
    await FhirSample.CreateAsync(cs, new FhirSampleOptions { Rows = count });
    // Phases 1 and 2 as a real migration would have them before phase 3: the column and both filtered indexes.
    var result = await new BackfillService().StartAsync(new BackfillRequest { Scope = Scope(cs), SkipBackfill = true });
    await using (var c = new NpgsqlConnection(cs)) { await c.OpenAsync(); await new NpgsqlCommand("VACUUM ANALYZE", c) { CommandTimeout = 0 }.ExecuteNonQueryAsync(); }
    NpgsqlConnection.ClearAllPools(); // a template must have no open sessions to be copied
    Console.WriteLine($"  {name}: {count:N0} rows, column + {result.IndexesBuilt.Count} indexes in {watch.Elapsed.TotalSeconds:0}s");
    return name;
}

BackfillScope Scope(string cs) => new() { Target = new DatabaseTarget(PostgreSqlProvider.Instance, cs) };

async Task<(string Name, double Seconds, long Rows, List<double> BatchMs)> MeasureAsync(string label, string template, Func<string, List<double>, Task<long>> run)
{
    var db = $"run_{Guid.NewGuid():N}"[..20];
    await using (var admin = new NpgsqlConnection(cluster.ConnectionString()))
    {
        await admin.OpenAsync();
        await new NpgsqlCommand($"CREATE DATABASE {db} TEMPLATE {template}", admin) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
    }
    var cs = cluster.ConnectionString(db);
    var batches = new List<double>();
    var watch = Stopwatch.StartNew();
    var moved = await run(cs, batches);
    watch.Stop();
    await using (var c = new NpgsqlConnection(cs))
    {
        await c.OpenAsync();
        var misplaced = (long)(await new NpgsqlCommand($"""
            SELECT count(*) FROM "Resource" r JOIN "ResourceType" t USING ("ResourceTypeId")
            WHERE t."Name" IN {SystemList} AND r."PartitionId" <> 1
            """, c) { CommandTimeout = 0 }.ExecuteScalarAsync())!;
        if (misplaced != 0) throw new InvalidOperationException($"{label} left {misplaced} rows misplaced");
    }
    NpgsqlConnection.ClearAllPools();
    await using (var admin = new NpgsqlConnection(cluster.ConnectionString()))
    {
        await admin.OpenAsync();
        await new NpgsqlCommand($"DROP DATABASE {db} WITH (FORCE)", admin).ExecuteNonQueryAsync();
    }
    Console.WriteLine($"  {label}: {moved:N0} rows in {watch.Elapsed.TotalSeconds:0.0}s, {batches.Count} batches");
    return (label, watch.Elapsed.TotalSeconds, moved, batches);
}

async Task<long> RunOursAsync(string cs, List<double> batches, int? fixedBatch = null)
{
    var progress = new SyncProgress(e => { if (e.Type?.LastBatchMilliseconds is { } ms && e.Type.Status != BackfillStatus.Done) lock (batches) batches.Add(ms); });
    var result = await new BackfillService().StartAsync(new BackfillRequest
    {
        Scope = Scope(cs),
        BatchSize = fixedBatch ?? 1000,
        TargetBatchTime = fixedBatch is null ? TimeSpan.FromMilliseconds(500) : TimeSpan.Zero,
        Throttle = new ThrottleOptions { MaxBlockedSessions = null, MaxReplicaLagSeconds = null },
    }, progress);
    if (result.Status != BackfillStatus.Done) throw new InvalidOperationException(result.StopReason);
    return result.RowsUpdated;
}

async Task<long> RunSpecLoopAsync(string cs, List<double> batches)
{
    // The spec's T-SQL loop in PostgreSQL terms: no TOP in UPDATE, so a LIMITed key subquery.
    await using var c = new NpgsqlConnection(cs);
    await c.OpenAsync();
    long total = 0;
    while (true)
    {
        var watch = Stopwatch.StartNew();
        var n = await new NpgsqlCommand($"""
            UPDATE "Resource" SET "PartitionId" = 1
            WHERE ("ResourceTypeId", "ResourceSurrogateId") IN (
                SELECT r."ResourceTypeId", r."ResourceSurrogateId" FROM "Resource" r
                JOIN "ResourceType" rt ON r."ResourceTypeId" = rt."ResourceTypeId"
                WHERE rt."Name" IN {SystemList} AND r."PartitionId" = 2
                LIMIT 10000)
            """, c) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
        batches.Add(watch.Elapsed.TotalMilliseconds);
        if (n == 0) return total;
        total += n;
    }
}

async Task<long> RunSingleUpdateAsync(string cs, List<double> batches)
{
    await using var c = new NpgsqlConnection(cs);
    await c.OpenAsync();
    var watch = Stopwatch.StartNew();
    var n = await new NpgsqlCommand($"""
        UPDATE "Resource" r SET "PartitionId" = 1 FROM "ResourceType" rt
        WHERE r."ResourceTypeId" = rt."ResourceTypeId" AND rt."Name" IN {SystemList} AND r."PartitionId" = 2
        """, c) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
    batches.Add(watch.Elapsed.TotalMilliseconds);
    return n;
}

async Task<long> RunInServerKeysetAsync(string cs, List<double> batches)
{
    await using var c = new NpgsqlConnection(cs);
    await c.OpenAsync();
    await new NpgsqlCommand($"""
        CREATE TABLE bench_batch (ms float8);
        CREATE PROCEDURE bench_keyset(batch int) LANGUAGE plpgsql AS $$
        DECLARE t smallint; last_key bigint; range_end bigint; started timestamptz;
        BEGIN
          FOR t IN SELECT "ResourceTypeId" FROM "ResourceType" WHERE "Name" IN {SystemList} LOOP
            last_key := -9223372036854775808;
            LOOP
              started := clock_timestamp();
              SELECT max(k) INTO range_end FROM (SELECT "ResourceSurrogateId" AS k FROM "Resource"
                  WHERE "ResourceTypeId" = t AND "ResourceSurrogateId" > last_key ORDER BY 1 LIMIT batch) s;
              EXIT WHEN range_end IS NULL;
              UPDATE "Resource" SET "PartitionId" = 1 WHERE "ResourceTypeId" = t
                 AND "ResourceSurrogateId" > last_key AND "ResourceSurrogateId" <= range_end AND "PartitionId" <> 1;
              last_key := range_end;
              INSERT INTO bench_batch VALUES (extract(epoch FROM clock_timestamp() - started) * 1000);
              COMMIT;
            END LOOP;
          END LOOP;
        END $$;
        """, c).ExecuteNonQueryAsync();
    await new NpgsqlCommand("CALL bench_keyset(5000)", c) { CommandTimeout = 0 }.ExecuteNonQueryAsync();
    await using (var reader = await new NpgsqlCommand("SELECT ms FROM bench_batch", c).ExecuteReaderAsync())
        while (await reader.ReadAsync()) batches.Add(reader.GetDouble(0));
    return (long)(await new NpgsqlCommand("""SELECT count(*) FROM "Resource" WHERE "PartitionId" = 1""", c).ExecuteScalarAsync())!;
}

/// <summary>Collects on the worker's thread (Progress&lt;T&gt; would post to the thread pool and reorder).</summary>
sealed class SyncProgress(Action<BackfillEvent> action) : IProgress<BackfillEvent>
{
    public void Report(BackfillEvent value) => action(value);
}
