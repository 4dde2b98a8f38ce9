using Npgsql;
using PartitionOps.Engine;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Monitoring;
using PartitionOps.IntegrationTests.Cli;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// ilm health --verify-indexes on a real PostgreSQL: an index damaged the way an earlier version's rolled-back merge damaged it
/// (a relation's tablespace changed and rows written into it in one transaction that rolls back) is found, named with its fix,
/// exits 3 from the CLI, and clears after the fix.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmIndexHealthTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private readonly IlmService _ilm = new();

    private Task<IlmHealthReport> HealthAsync(IlmTestDatabase db) =>
        _ilm.HealthAsync(new IlmHealthRequest(db.Target) { Table = "sales", Policy = db.Policy, VerifyIndexes = true });

    private static Task<CliRun> CliHealthAsync(IlmTestDatabase db, params string[] args) =>
        CliRun.RunAsync(["ilm", "health", "--provider", "postgresql", "--connection", db.ConnectionString, "--table", "sales", .. args]);

    private static string Failures(IlmHealthReport r) =>
        string.Join("; ", r.Checks.Where(c => !c.Passed).Select(c => c.Name + ": " + c.Message));

    /// <summary>Looks up one of the rolled-back rows through p_2023_pkey (an index scan, as the reproduction does).</summary>
    private static async Task<long> CountThroughTheKeyAsync(IlmTestDatabase db)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using (var set = new NpgsqlCommand("SET enable_seqscan = off; SET enable_bitmapscan = off", connection))
            await set.ExecuteNonQueryAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM public.p_2023 WHERE id = 1050000 AND sale_date = DATE '2023-01-01' + (50000 % 300)", connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task An_index_damaged_by_a_rolled_back_tablespace_change_is_reported_with_its_fix_and_clears_after_it()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        // The p_2023_pkey: a primary key on the partitioned table gives each partition one.
        await db.ExecuteAsync("ALTER TABLE public.sales ADD PRIMARY KEY (id, sale_date)");

        // Without the extensions: nothing can be verified, and health says so with the statements that enable it.
        var unverifiable = await HealthAsync(db);
        Assert.False(unverifiable.Passed);
        var why = Assert.Single(unverifiable.Alerts, c => c.Name == "index verification").Message;
        Assert.Contains("CREATE EXTENSION amcheck;", why);
        Assert.Contains("CREATE EXTENSION pageinspect;", why);
        Assert.Contains("past the end", why);
        Assert.NotNull(unverifiable.Indexes?.CannotRun);

        await db.ExecuteAsync("CREATE EXTENSION amcheck");
        await db.ExecuteAsync("CREATE EXTENSION pageinspect");
        var healthy = await HealthAsync(db);
        Assert.True(healthy.Passed, Failures(healthy));
        // Two indexes (the primary key and sales_sale_date's) on each of the two partitions, all verified.
        Assert.Equal(4, healthy.Indexes!.Findings.Count);
        Assert.All(healthy.Indexes.Findings, f => Assert.Equal(IndexFinding.Ok, f.Status));
        var clean = await CliHealthAsync(db, "--verify-indexes", "--json");
        Assert.True(clean.ExitCode == 0, clean.ToString());

        // The reproduction, in pure SQL, on the yearly partition: change its tablespace and write into it in one
        // transaction that rolls back. The index keeps entries that point into the discarded file.
        var before = await db.ScalarAsync<long>("SELECT count(*) FROM public.p_2023");
        await using (var connection = new NpgsqlConnection(db.ConnectionString))
        {
            await connection.OpenAsync();
            await using var tx = await connection.BeginTransactionAsync();
            await using (var move = new NpgsqlCommand($"ALTER TABLE public.p_2023 SET TABLESPACE {db.Cold}", connection, tx))
                await move.ExecuteNonQueryAsync();
            await using (var insert = new NpgsqlCommand("""
                INSERT INTO public.sales (id, sale_date, amount)
                SELECT 1000000 + n, DATE '2023-01-01' + (n % 300), 2.5 FROM generate_series(1, 100000) n
                """, connection, tx))
                await insert.ExecuteNonQueryAsync();
            await tx.RollbackAsync();
        }
        Assert.Equal(before, await db.ScalarAsync<long>("SELECT count(*) FROM public.p_2023"));
        // The damage is real: a read through the index fails.
        var read = await Assert.ThrowsAsync<PostgresException>(() => CountThroughTheKeyAsync(db));
        Assert.Contains("could not read block", read.MessageText);

        var damaged = await HealthAsync(db);
        Assert.False(damaged.Passed);
        var broken = damaged.Indexes!.Problems.ToList();
        // Both indexes of p_2023 took entries of the rolled-back rows; p_2023_11's are untouched.
        Assert.Equal(["p_2023_pkey", "p_2023_sale_date_idx"], broken.Select(f => f.Index).Order(StringComparer.Ordinal));
        Assert.All(broken, f => Assert.Equal(("p_2023", IndexFinding.Damaged), (f.Partition, f.Status)));
        var pkey = Assert.Single(damaged.Alerts, c => c.Name == "index public.p_2023_pkey");
        Assert.Contains("REINDEX INDEX CONCURRENTLY \"public\".\"p_2023_pkey\";", pkey.Message);
        // The message names the block the entries reach and the partition's size.
        Assert.Matches("pointing to block [0-9]+ of p_2023, which has [0-9]+ block", pkey.Message);
        Assert.Equal(2m, Assert.Single(damaged.Checks, c => c.Name == "damaged indexes").Value);

        // The CLI: exit 3, the index and its fix in the human output and in the JSON document.
        var human = await CliHealthAsync(db, "--verify-indexes");
        Assert.True(human.ExitCode == 3, human.ToString());
        Assert.Contains("REINDEX INDEX CONCURRENTLY \"public\".\"p_2023_pkey\";", human.Stdout);
        var json = await CliHealthAsync(db, "--verify-indexes", "--json");
        Assert.True(json.ExitCode == 3, json.ToString());
        Assert.Contains("REINDEX INDEX CONCURRENTLY \\\"public\\\".\\\"p_2023_sale_date_idx\\\";", json.Stdout);
        // Without --verify-indexes the indexes are not read: the audit-only health passes.
        Assert.True((await CliHealthAsync(db)).ExitCode == 0);

        // Committed rows grow p_2023 back over the discarded blocks: the stale entries now point at other rows (the lookup
        // no longer fails, it finds the wrong row), and health still finds them, as row pointers held by two entries.
        await db.ExecuteAsync("""
            INSERT INTO public.sales (id, sale_date, amount)
            SELECT 2000000 + n, DATE '2023-01-01' + (n % 300), 3.5 FROM generate_series(1, 150000) n
            """);
        var regrown = await HealthAsync(db);
        Assert.False(regrown.Passed);
        Assert.Equal(["p_2023_pkey", "p_2023_sale_date_idx"], regrown.Indexes!.Problems.Select(f => f.Index).Order(StringComparer.Ordinal));
        Assert.Matches("has [0-9]+ row pointer\\(s\\) of p_2023 held by two entries or more.*" +
                       "Fix: REINDEX INDEX CONCURRENTLY \"public\".\"p_2023_pkey\";",
            Assert.Single(regrown.Alerts, c => c.Name == "index public.p_2023_pkey").Message);
        Assert.Equal(1L, await CountThroughTheKeyAsync(db)); // a row that does not exist, found through the stale entry

        // The fixes health gave, run as given: the indexes are whole again and health passes.
        foreach (var f in broken) await db.ExecuteAsync(f.Fix!);
        Assert.Equal(0L, await CountThroughTheKeyAsync(db));
        var repaired = await HealthAsync(db);
        Assert.True(repaired.Passed, Failures(repaired));
        Assert.True((await CliHealthAsync(db, "--verify-indexes")).ExitCode == 0);
    }

    [Fact]
    public async Task Verify_indexes_needs_a_table_and_changes_nothing()
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await db.AddWarm2023WithNovemberAsync(db.Hot);
        var e = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            _ilm.HealthAsync(new IlmHealthRequest(db.Target) { VerifyIndexes = true }));
        Assert.Equal(nameof(IlmHealthRequest.VerifyIndexes), e.Parameter); // the CLI maps the key to its option
        var cli = await CliRun.RunAsync(
            ["ilm", "health", "--provider", "postgresql", "--connection", db.ConnectionString, "--verify-indexes"]);
        Assert.True(cli.ExitCode == 2, cli.ToString());
        Assert.Contains("--verify-indexes", cli.Stderr);
        // Reading only: no control schema, no extension created.
        await db.ExecuteAsync("CREATE EXTENSION amcheck");
        await db.ExecuteAsync("CREATE EXTENSION pageinspect");
        Assert.True((await HealthAsync(db)).Passed);
        Assert.False(await db.ControlSchemaExistsAsync());
    }
}
