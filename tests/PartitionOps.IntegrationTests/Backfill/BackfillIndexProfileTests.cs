using Npgsql;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.IntegrationTests.Infrastructure;

namespace PartitionOps.IntegrationTests.Backfill;

/// <summary>
/// On the real PostgreSQL: a profile's own list of filtered indexes (the upstream prototype's four, with INCLUDE and an
/// extra predicate, per leaf partition CONCURRENTLY), phase 2 run alone and deferred by the time box, and a view where
/// the profile names a table.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BackfillIndexProfileTests(PostgresFixture postgres)
{
    private readonly BackfillService _service = new();

    private static IEnumerable<string> PrototypeNames => BackfillProfile.FhirPrototype.FilteredIndexes().Select(i => i.Name);

    /// <summary>History rows: an older version of some current rows, same ResourceId, IsHistory = true.</summary>
    private static Task AddHistoryAsync(BackfillHarness db) => db.ExecAsync("""
        INSERT INTO "Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "IsHistory", "RawResource")
        SELECT "ResourceTypeId", "ResourceSurrogateId" + 1, "ResourceId", 0, true, 'old'
        FROM "Resource" WHERE "ResourceSurrogateId" % 5 = 2;
        ANALYZE "Resource";
        """);

    /// <summary>Every index of the name's tree (itself and its partitions' indexes; pg_partition_tree is empty for an index
    /// that is not partitioned): valid, and amcheck finds nothing wrong. Returns how many leaf indexes were checked.</summary>
    private static async Task<long> CheckedIndexesAsync(BackfillHarness db, string index)
    {
        await db.ExecAsync("CREATE EXTENSION IF NOT EXISTS amcheck");
        var tree = $"""
            SELECT c.oid, c.relkind FROM pg_class c
            WHERE c.oid = '"public"."{index}"'::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree('"public"."{index}"'::regclass))
            """;
        Assert.Equal(0, await db.ScalarAsync<long>(
            $"SELECT count(*) FROM ({tree}) t JOIN pg_index x ON x.indexrelid = t.oid WHERE NOT x.indisvalid"));
        // bt_index_check with heapallindexed: every heap row the predicate admits is in the index (leaf indexes only).
        return await db.ScalarAsync<long>($"SELECT count(bt_index_check(t.oid, true)) FROM ({tree}) t WHERE t.relkind = 'i'");
    }

    [Fact]
    public async Task The_prototype_s_four_indexes_are_built_per_leaf_with_include_and_the_extra_predicate_and_enforce_it()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 6_000, types: 12, partitioned: true);
        await AddHistoryAsync(db);
        var total = await db.TotalRowsAsync();
        var leaves = await db.ScalarAsync<long>(
            """SELECT count(*) FROM pg_partition_tree('"Resource"') t JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'r'""");

        var result = await _service.StartAsync(
            db.Request() with { Scope = db.Scope with { Profile = BackfillProfile.Load("fhir-prototype") } });

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.Equal(4, result.IndexesBuilt.Count);
        Assert.Equal(0, await db.MisplacedAsync());
        Assert.Equal(total, await db.TotalRowsAsync());
        foreach (var name in PrototypeNames) Assert.Equal(leaves, await CheckedIndexesAsync(db, name));

        var definition = await db.ScalarAsync<string>(
            """SELECT pg_get_indexdef('"public"."IX_Resource_DefaultPartition_ResourceTypeId_ResourceId"'::regclass)""");
        Assert.Contains("UNIQUE INDEX", definition);
        Assert.Contains("(\"ResourceTypeId\", \"ResourceId\") INCLUDE (\"Version\", \"IsDeleted\")", definition);
        Assert.Contains("WHERE ((\"PartitionId\" = 2) AND (\"IsHistory\" = false))", definition);

        // The extra predicate is what lets history rows share a ResourceId; a second current row may not.
        var (type, resourceId) = await FirstUserRowAsync(db);
        await db.ExecAsync($"""
            INSERT INTO "Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "IsHistory", "RawResource")
            VALUES ({type}, 1, '{resourceId}', 7, true, 'older')
            """);
        var duplicate = await Assert.ThrowsAsync<PostgresException>(() => db.ExecAsync($"""
            INSERT INTO "Resource" ("ResourceTypeId", "ResourceSurrogateId", "ResourceId", "Version", "IsHistory", "RawResource")
            VALUES ({type}, 2, '{resourceId}', 8, false, 'second current')
            """));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, duplicate.SqlState);
        Assert.Contains("IX_Resource_DefaultPartition_ResourceTypeId_ResourceId", duplicate.ConstraintName ?? duplicate.MessageText);
    }

    private static async Task<(int Type, string ResourceId)> FirstUserRowAsync(BackfillHarness db)
    {
        await using var c = await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT r."ResourceTypeId", r."ResourceId" FROM "Resource" r
            WHERE r."PartitionId" = 2 AND NOT r."IsHistory" ORDER BY 1, 2 LIMIT 1
            """, c);
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt16(0), reader.GetString(1));
    }

    [Fact]
    public async Task A_time_box_too_short_for_the_builds_defers_them_and_phase_indexes_alone_builds_them_afterwards()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 4_000, types: 10, partitioned: false);
        await AddHistoryAsync(db);
        var profile = BackfillProfile.FhirPrototype;

        // One row per second: every build is estimated at over an hour, more than the 10 minutes allowed.
        var boxed = await _service.StartAsync(db.Request() with
        {
            Scope = db.Scope with { Profile = profile }, MaxDuration = TimeSpan.FromMinutes(10), IndexBuildRowsPerSecond = 1,
        });
        Assert.Equal(BackfillStatus.Done, boxed.Status);
        Assert.True(boxed.IndexesBuilt.Count == 0, string.Join(" | ", boxed.IndexesBuilt));
        Assert.Equal(4, boxed.IndexesDeferred.Count);
        Assert.All(boxed.IndexesDeferred, d => Assert.Contains("the indexes phase alone", d));
        Assert.Contains("cannot be paused", boxed.IndexesDeferred[0]);
        Assert.Equal(0, await db.ScalarAsync<long>("""SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'IX_Resource_%'"""));
        Assert.Equal(0, await db.MisplacedAsync()); // phase 3 does not need the indexes

        var indexes = await _service.StartAsync(db.Request() with { Scope = db.Scope with { Profile = profile },
            Phase = BackfillPhase.Indexes });
        Assert.Equal(4, indexes.IndexesBuilt.Count);
        Assert.Null(indexes.RunId); // phase 2 alone starts no backfill run
        foreach (var name in PrototypeNames) Assert.Equal(1, await CheckedIndexesAsync(db, name));
    }

    [Fact]
    public async Task A_view_over_current_and_history_tables_is_named_with_them_and_one_profile_per_base_table_works()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 3_000, types: 10, partitioned: false);
        await db.ExecAsync("""
            ALTER TABLE "Resource" RENAME TO "CurrentResources";
            CREATE TABLE "HistoryResources" (LIKE "CurrentResources" INCLUDING ALL);
            INSERT INTO "HistoryResources" SELECT * FROM "CurrentResources" WHERE "ResourceSurrogateId" % 3 = 0;
            CREATE VIEW "Resource" AS SELECT * FROM "CurrentResources" UNION ALL SELECT * FROM "HistoryResources";
            """);

        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => _service.StartAsync(db.Request()));
        Assert.Equal((nameof(BackfillScope.Profile), "table"), (error.Parameter, error.Field));
        Assert.Contains("public.Resource", error.Message);
        Assert.Contains("is a view, not a table: it reads public.CurrentResources, public.HistoryResources", error.Message);
        Assert.Contains("\"table\" set to \"CurrentResources\" / \"HistoryResources\"", error.Message);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM pg_namespace WHERE nspname = 'partitionops'")); // nothing changed

        // What the message says: one profile per base table, each with its own index names.
        foreach (var table in new[] { "CurrentResources", "HistoryResources" })
        {
            var path = Path.Combine(Path.GetTempPath(), $"{table}-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(path, $$"""
                { "table": "{{table}}", "system_index_name": "IX_{{table}}_System", "default_index_name": "IX_{{table}}_Default" }
                """);
            try
            {
                var run = await _service.StartAsync(db.Request() with { Scope = db.Scope with { Profile = BackfillProfile.Load(path) } });
                Assert.Equal(BackfillStatus.Done, run.Status);
                Assert.Equal(2, run.IndexesBuilt.Count);
            }
            finally { File.Delete(path); }
        }
        Assert.Equal(0, await db.ScalarAsync<long>("""
            SELECT count(*) FROM (SELECT * FROM "CurrentResources" UNION ALL SELECT * FROM "HistoryResources") r
            JOIN "ResourceType" t USING ("ResourceTypeId")
            WHERE (t."Name" IN ('SearchParameter','OperationDefinition','StructureDefinition','ValueSet','CodeSystem','CapabilityStatement',
                                'CompartmentDefinition')) <> (r."PartitionId" = 1)
            """));
    }

    [Fact]
    public async Task The_pre_flight_on_postgresql_names_the_builds_that_cannot_be_paused()
    {
        var db = await BackfillHarness.CreateAsync(postgres, rows: 2_000, types: 8, partitioned: true);
        var report = await _service.TestPrerequisitesAsync(
            db.Request() with { Scope = db.Scope with { Profile = BackfillProfile.FhirPrototype } });
        var check = Assert.Single(report.Checks, c => c.Name == "index builds that cannot be paused");
        Assert.Contains("CONCURRENTLY build cannot be paused", check.Detail);
        // The leaves' catalog rows (the sample ANALYZEs them): on a table this small, exactly its rows.
        var rows = await db.TotalRowsAsync();
        Assert.True(check.Detail.Contains($"{rows:N0} rows at 50,000 rows/s", StringComparison.Ordinal), check.Detail);
        Assert.True(Assert.Single(report.Checks, c => c.Name == "online column add (row size)").Passed);
    }
}
