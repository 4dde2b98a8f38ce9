using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Tests.Backfill.SqlServer;

/// <summary>
/// Phase 2 and the pre-checks on SQL Server, run by the real engine and dialect against <see cref="RecordingSqlServer"/>,
/// which refuses what the documentation says the server refuses (error 10675 for RESUMABLE on a filtered index) and
/// times out locks where told to (1222).
/// </summary>
public sealed class SqlServerPhaseTwoTests
{
    private static BackfillRequest Request(RecordingSqlServer server, BackfillProfile? profile = null) => new()
    {
        Scope = new BackfillScope { Target = server.Target(), Profile = profile ?? BackfillProfile.FhirPrototype },
        Phase = BackfillPhase.Indexes,
    };

    private static List<string> CreateIndexes(RecordingSqlServer server) =>
        server.Executed.Where(t => t.StartsWith("CREATE UNIQUE NONCLUSTERED INDEX", StringComparison.Ordinal)).ToList();

    [Fact]
    public void The_old_resumable_statement_is_what_the_server_refuses_with_10675()
    {
        // The recording server's refusal is real: the statement the spec asked for fails on it.
        var server = new RecordingSqlServer();
        var error = Assert.Throws<RecordingSqlServer.ServerError>(() =>
        {
            using var connection = server.CreateConnection("");
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE UNIQUE NONCLUSTERED INDEX [IX] ON [dbo].[Resource] ([ResourceTypeId]) WHERE [PartitionId] = 1 " +
                                  "WITH (ONLINE = ON, RESUMABLE = ON, MAX_DURATION = 240 MINUTES)";
            command.ExecuteNonQuery();
        });
        Assert.Equal(RecordingSqlServer.ResumableNotSupported, error.Number);
    }

    [Fact]
    public async Task Phase_indexes_alone_builds_the_four_prototype_indexes_online_and_never_sends_resumable()
    {
        var server = new RecordingSqlServer();
        var result = await new BackfillService().StartAsync(Request(server));

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.Equal(4, result.IndexesBuilt.Count);
        Assert.Empty(result.IndexesDeferred);
        Assert.Empty(server.Refused);
        var creates = CreateIndexes(server);
        Assert.Equal(4, creates.Count);
        Assert.All(creates, c => Assert.Contains("WITH (ONLINE = ON, MAXDOP = 4, DATA_COMPRESSION = PAGE)", c));
        Assert.All(creates, c => Assert.DoesNotContain("RESUMABLE", c));
        Assert.Contains(creates,
            c => c.Contains("INCLUDE ([Version], [IsDeleted]) WHERE [PartitionId] = 2 AND [IsHistory] = 0", StringComparison.Ordinal));
        // Phase 2 alone: no column add, no batch.
        Assert.DoesNotContain(server.Executed,
            t => t.Contains("ALTER TABLE", StringComparison.Ordinal)
                 || t.Contains("backfill_checkpoint] (", StringComparison.Ordinal) && t.Contains("UPDATE", StringComparison.Ordinal));
        Assert.True(server.Indexes.Values.All(i => i.Valid));
    }

    [Fact]
    public async Task A_lock_timeout_on_a_build_is_retried_and_the_build_then_runs()
    {
        var server = new RecordingSqlServer();
        server.LockTimeouts.Add("[IX_Resource_DefaultPartition_ResourceTypeId_ResourceId]");
        var events = new List<BackfillEvent>();
        var result = await new BackfillService().StartAsync(Request(server), new SyncProgress(events.Add));

        Assert.Equal(4, result.IndexesBuilt.Count);
        Assert.Equal(2, server.Executed.Count(t => t.Contains("INDEX [IX_Resource_DefaultPartition_ResourceTypeId_ResourceId]",
            StringComparison.Ordinal)));
        Assert.Contains(events, e => e.Phase == "index" && e.Message.Contains("lock not granted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Under_max_duration_a_build_that_cannot_be_paused_and_would_overrun_is_not_started_and_says_how_to_run_it()
    {
        // 400 million rows at the default 50,000 rows/s: 8,000 s (2 h 13 min) per build, more than the hour allowed.
        var server = new RecordingSqlServer { TableRows = 400_000_000 };
        var events = new List<BackfillEvent>();
        var result = await new BackfillService().StartAsync(Request(server) with { MaxDuration = TimeSpan.FromHours(1) },
            new SyncProgress(events.Add));

        Assert.Equal(BackfillStatus.Done, result.Status);
        Assert.Empty(result.IndexesBuilt);
        Assert.Equal(4, result.IndexesDeferred.Count);
        Assert.Empty(CreateIndexes(server));
        var first = result.IndexesDeferred[0];
        Assert.Contains("cannot be paused", first);
        Assert.Contains("2 h 13 min", first);
        Assert.Contains("400,000,000 rows at 50,000 rows/s", first);
        Assert.Contains("the indexes phase alone", first);
        Assert.Contains(result.IndexesDeferred.Skip(1), d => d.Contains("it would follow a deferred build", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Message.Contains("not started", StringComparison.Ordinal));

        // With a rate measured on this server that fits, or without the time box, the builds run.
        var faster = await new BackfillService().StartAsync(Request(server) with { MaxDuration = TimeSpan.FromHours(1),
            IndexBuildRowsPerSecond = 1_000_000 });
        Assert.Equal(4, faster.IndexesBuilt.Count);
    }

    [Fact]
    public async Task The_dry_run_says_which_builds_cannot_be_paused_with_the_estimate()
    {
        var server = new RecordingSqlServer { TableRows = 90_000_000 };
        var result = await new BackfillService().StartAsync(Request(server) with { DryRun = true });
        var steps = result.Plan!.Steps.Where(s => s.Phase == "index").ToList();
        Assert.Equal(4, steps.Count);
        Assert.All(steps, s => Assert.Contains(
            "cannot be paused or resumed: SQL Server cannot pause or resume the build of a filtered index", s.Description));
        Assert.All(steps, s => Assert.Contains("estimated 30 min (90,000,000 rows at 50,000 rows/s)", s.Description));
        Assert.Empty(server.Executed);
    }

    [Fact]
    public async Task A_paused_resumable_build_is_resumed_with_its_own_maxdop_whatever_the_request_asks()
    {
        var server = new RecordingSqlServer();
        server.Indexes[BackfillProfile.Fhir.SystemIndexName] = (false, true, 2);
        var request = Request(server, BackfillProfile.Fhir) with { Index = new IndexBuildOptions { MaxDop = 8 } };
        var result = await new BackfillService().StartAsync(request);

        Assert.Equal(2, result.IndexesBuilt.Count);
        Assert.Contains("ALTER INDEX [IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version] ON [dbo].[Resource] RESUME WITH " +
            "(MAXDOP = 2, MAX_DURATION = 240 MINUTES)",
            server.Executed);
        Assert.Contains(server.Executed,
            t => t.Contains("DefaultPartition", StringComparison.Ordinal) && t.Contains("MAXDOP = 8", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Phase_indexes_before_the_column_exists_is_invalid_input_and_changes_nothing()
    {
        var server = new RecordingSqlServer();
        server.Columns.Remove("PartitionId");
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => new BackfillService().StartAsync(Request(server)));
        Assert.Equal(nameof(BackfillRequest.Phase), error.Parameter);
        Assert.Empty(server.Executed);
    }

    [Fact]
    public async Task A_column_add_past_8060_bytes_is_refused_before_anything_changes()
    {
        var server = new RecordingSqlServer { MaxRowBytes = 8_059 };
        server.Columns.Remove("PartitionId");
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            new BackfillService().StartAsync(Request(server) with { Phase = BackfillPhase.Column }));
        Assert.Equal((nameof(BackfillScope.Profile), "partition_column"), (error.Parameter, error.Field));
        Assert.Contains("8062 bytes", error.Message);
        Assert.Contains("8060-byte limit", error.Message);
        Assert.Empty(server.Executed);

        var fits = new RecordingSqlServer { MaxRowBytes = 2_000 };
        fits.Columns.Remove("PartitionId");
        var added = await new BackfillService().StartAsync(Request(fits) with { Phase = BackfillPhase.Column });
        Assert.True(added.ColumnAdded);
    }

    [Fact]
    public async Task A_view_where_the_table_was_expected_is_named_with_its_base_tables()
    {
        var server = new RecordingSqlServer { TableExists = false };
        server.ViewBases.Add(("dbo", "CurrentResources"));
        server.ViewBases.Add(("dbo", "HistoryResources"));
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() => new BackfillService().StartAsync(Request(server)));
        Assert.Equal((nameof(BackfillScope.Profile), "table"), (error.Parameter, error.Field));
        Assert.Contains("dbo.Resource", error.Message);
        Assert.Contains("is a view, not a table: it reads dbo.CurrentResources, dbo.HistoryResources", error.Message);
        Assert.Contains("\"table\" set to \"CurrentResources\" / \"HistoryResources\"", error.Message);
        Assert.Contains("the profile CurrentResources.json, then HistoryResources.json", error.Message);
        Assert.Empty(server.Executed);

        var missing = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            new BackfillService().StartAsync(Request(new RecordingSqlServer { TableExists = false })));
        Assert.Contains("does not exist", missing.Message);
    }

    [Fact]
    public async Task The_pre_flight_names_the_builds_that_cannot_be_paused_and_fails_an_offline_column_add()
    {
        var server = new RecordingSqlServer { MaxRowBytes = 8_100, TableRows = 50_000_000 };
        server.Columns.Remove("PartitionId");
        var report = await new BackfillService().TestPrerequisitesAsync(Request(server));
        var unpausable = Assert.Single(report.Checks, c => c.Name == "index builds that cannot be paused");
        Assert.True(unpausable.Passed);
        Assert.Contains("IX_Resource_SystemPartition_ResourceTypeId_ResourceId_Version", unpausable.Detail);
        Assert.Contains("IX_Resource_DefaultPartition_ResourceTypeId_ResourceId: SQL Server cannot pause", unpausable.Detail);
        Assert.Contains("17 min", unpausable.Detail);
        Assert.Contains("the indexes phase alone", unpausable.Detail);
        Assert.DoesNotContain("--", unpausable.Detail, StringComparison.Ordinal);
        var rowSize = Assert.Single(report.Checks, c => c.Name == "online column add (row size)");
        Assert.False(rowSize.Passed);
        Assert.False(report.Passed);
        Assert.DoesNotContain(server.Executed,
            t => !t.Contains("backfill_", StringComparison.Ordinal) && !t.Contains("LOCK_TIMEOUT", StringComparison.Ordinal));
    }

    private sealed class SyncProgress(Action<BackfillEvent> report) : IProgress<BackfillEvent>
    {
        public void Report(BackfillEvent value) => report(value);
    }
}
