using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Tests.Backfill;

/// <summary>What the engine decides from the server's facts and the request alone: no server needed.</summary>
public sealed class ServerRulesTests
{
    private static readonly DatabaseTarget Target = new(SqlServerProvider.Instance, "Server=sql01;Database=fhir;Integrated Security=true");
    private static BackfillRequest Request(IndexBuildOptions? index = null, bool skipIndexes = false) =>
        new() { Scope = new BackfillScope { Target = Target }, Index = index ?? new IndexBuildOptions(), SkipIndexes = skipIndexes };

    private static readonly ServerFacts Standard = new("Microsoft SQL Server 2019 (RTM-CU20) - 15.0.4312.2", 15,
        "Standard Edition (64-bit)", SupportsOnline: false, SupportsResumable: false, MetadataOnlyAddColumn: false);
    private static readonly ServerFacts Enterprise = new("15.0.4312.2", 15, "Enterprise Edition (64-bit)", true, true, true);
    private static readonly ServerFacts Azure = new("12.0.2000.8", null, "SQL Azure", true, true, true);
    private static readonly ServerFacts Postgres = new("PostgreSQL 15.8 on x86_64-pc-linux-gnu", 15, "PostgreSQL", true, false, true);

    // ---------------------------------------------------------------- online index builds

    [Fact]
    public void An_edition_without_online_builds_is_refused_naming_the_edition_and_the_option_to_allow_offline()
    {
        var request = Request();
        var error = Assert.Throws<InvalidRequestException>(() => ServerRules.RequireOnlineOrConsent(request, Standard, buildNeeded: true));
        Assert.Equal("AllowOffline", error.Parameter);
        Assert.Contains("Standard Edition (64-bit)", error.Message);
        Assert.Contains("cannot build indexes online", error.Message);
        Assert.Contains("must be asked for", error.Problem);
        // The key names the request property; each front end names its own option (no CLI option in the engine's text).
        Assert.DoesNotContain("--", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("-AllowOffline", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allowed_offline_the_build_runs_with_ONLINE_and_RESUMABLE_off()
    {
        var request = Request(new IndexBuildOptions { AllowOffline = true });
        ServerRules.RequireOnlineOrConsent(request, Standard, buildNeeded: true);
        var options = ServerRules.EffectiveIndexOptions(request, Standard);
        Assert.False(options.Online);
        Assert.False(options.Resumable);
        // ... and the SQL says so.
        var sql = string.Join("\n", new SqlServerBackfillDialect().BuildFilteredIndex(
            new BackfillTable("dbo", BackfillProfile.Fhir, "partitionops"),
            new FilteredIndex(BackfillProfile.Fhir.SystemIndexName, BackfillProfile.Fhir.IndexColumns, 1), [], [], options)
            .Select(s => s.Text));
        Assert.Contains("ONLINE = OFF", sql);
        Assert.DoesNotContain("RESUMABLE = ON", sql);
    }

    [Fact]
    public void Nothing_is_refused_when_no_build_is_needed_or_the_indexes_are_skipped_or_offline_was_asked_for()
    {
        ServerRules.RequireOnlineOrConsent(Request(), Standard, buildNeeded: false);
        ServerRules.RequireOnlineOrConsent(Request(skipIndexes: true), Standard, buildNeeded: true);
        ServerRules.RequireOnlineOrConsent(Request(new IndexBuildOptions { Online = false }), Standard, buildNeeded: true);
    }

    [Theory]
    [MemberData(nameof(OnlineServers))]
    public void Online_capable_servers_build_online_and_resume_where_they_can(string name)
    {
        var server = OnlineServer(name);
        ServerRules.RequireOnlineOrConsent(Request(), server, buildNeeded: true);
        var options = ServerRules.EffectiveIndexOptions(Request(), server);
        Assert.True(options.Online);
        Assert.Equal(server.SupportsResumable, options.Resumable);
    }

    public static TheoryData<string> OnlineServers() => ["enterprise", "azure", "postgres"];
    private static ServerFacts OnlineServer(string name) => name switch { "enterprise" => Enterprise, "azure" => Azure, _ => Postgres };

    [Fact]
    public void The_online_check_of_the_pre_flight_fails_without_consent_and_passes_with_it()
    {
        var refused = ServerRules.OnlineIndexCheck(Request(), Standard);
        Assert.False(refused.Passed);
        Assert.Contains("ask for an offline build", refused.Detail);
        Assert.DoesNotContain("--", refused.Detail, StringComparison.Ordinal);
        var allowed = ServerRules.OnlineIndexCheck(Request(new IndexBuildOptions { AllowOffline = true }), Standard);
        Assert.True(allowed.Passed);
        Assert.Contains("offline", allowed.Detail);
        Assert.True(ServerRules.OnlineIndexCheck(Request(), Enterprise).Passed);
    }

    // ---------------------------------------------------------------- version, column, lookup

    [Fact]
    public void A_server_older_than_the_minimum_fails_the_version_check_naming_both()
    {
        var old = Standard with { Version = "Microsoft SQL Server 2017 (RTM) - 14.0.1000.169\n\tAug 22 2017", MajorVersion = 14 };
        var check = ServerRules.VersionCheck(old, new SqlServerBackfillDialect().MinimumVersion);
        Assert.False(check.Passed);
        Assert.Contains("major version 14", check.Detail);
        Assert.Contains("SQL Server 2019", check.Detail);
        Assert.DoesNotContain("\n", check.Detail);

        var pg14 = ServerRules.VersionCheck(Postgres with { MajorVersion = 14 }, new PostgreSqlBackfillDialect().MinimumVersion);
        Assert.False(pg14.Passed);
        Assert.Contains("PostgreSQL 15", pg14.Detail);
    }

    [Fact]
    public void Supported_versions_and_versionless_services_pass_the_version_check()
    {
        Assert.True(ServerRules.VersionCheck(Enterprise, new SqlServerBackfillDialect().MinimumVersion).Passed);
        Assert.True(ServerRules.VersionCheck(Enterprise with { MajorVersion = 16 }, new SqlServerBackfillDialect().MinimumVersion).Passed);
        Assert.True(ServerRules.VersionCheck(Postgres, new PostgreSqlBackfillDialect().MinimumVersion).Passed);
        var azure = ServerRules.VersionCheck(Azure, new SqlServerBackfillDialect().MinimumVersion);
        Assert.True(azure.Passed);
        Assert.Contains("SQL Azure", azure.Detail);
    }

    [Fact]
    public void Adding_the_column_on_an_edition_that_rewrites_every_row_is_a_warning()
    {
        var check = ServerRules.AddColumnCheck(Standard, columnExists: false, "PartitionId");
        Assert.True(check.Passed);
        Assert.True(check.Warning);
        Assert.StartsWith("warning:", check.Detail);
        Assert.Contains("Standard Edition (64-bit)", check.Detail);
        Assert.Contains("every row", check.Detail);

        Assert.False(ServerRules.AddColumnCheck(Enterprise, columnExists: false, "PartitionId").Warning);
        Assert.False(ServerRules.AddColumnCheck(Azure, columnExists: false, "PartitionId").Warning);
        // Already there: nothing to add, nothing to warn about.
        Assert.False(ServerRules.AddColumnCheck(Standard, columnExists: true, "PartitionId").Warning);
    }

    [Fact]
    public void The_lookup_check_names_the_missing_system_types()
    {
        var types = BackfillProfile.Fhir.SystemTypes;
        var ok = ServerRules.LookupCheck(types, [], "dbo.ResourceType");
        Assert.True(ok.Passed);
        var missing = ServerRules.LookupCheck(types, ["ValueSet", "CodeSystem"], "dbo.ResourceType");
        Assert.False(missing.Passed);
        Assert.Contains("ValueSet, CodeSystem", missing.Detail);
        Assert.Contains("dbo.ResourceType", missing.Detail);
    }

    [Fact]
    public void A_report_with_only_warnings_passes_and_lists_them()
    {
        var report = new PrerequisiteReport
        {
            Table = "dbo.Resource", ServerVersion = Standard.Version, Edition = Standard.Edition,
            Checks = [ServerRules.AddColumnCheck(Standard, false, "PartitionId"),
                ServerRules.VersionCheck(Standard, new SqlServerBackfillDialect().MinimumVersion)],
        };
        Assert.True(report.Passed);
        Assert.Single(report.Warnings);
    }

    // ---------------------------------------------------------------- batch size

    [Fact]
    public void A_SQL_Server_walk_asked_for_10000_row_batches_never_uses_more_than_4000()
    {
        var request = Request() with { BatchSize = 10_000 };
        var controller = BatchSizeController.For(request, new SqlServerBackfillDialect());
        Assert.Equal(SqlServerBackfillDialect.LockEscalationSafeBatchSize, controller.Max);
        Assert.True(controller.Current <= 4000, $"starts at {controller.Current}");
        // However fast the batches are, the size stays below lock escalation.
        for (var i = 0; i < 20; i++) controller.Observe(controller.Current, TimeSpan.FromMilliseconds(1));
        Assert.True(controller.Current <= 4000, $"grew to {controller.Current}");
        // PostgreSQL has no lock escalation: the asked size is used.
        Assert.Equal(10_000, BatchSizeController.For(request, new PostgreSqlBackfillDialect()).Current);
    }
}
