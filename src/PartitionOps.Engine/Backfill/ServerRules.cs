namespace PartitionOps.Engine.Backfill;

/// <summary>
/// What the engine knows of the server (from <see cref="IBackfillDialect.ServerInfo"/>). <see cref="MajorVersion"/> is
/// null where the service has no version of its own (Azure SQL Database and Managed Instance are always current).
/// </summary>
internal sealed record ServerFacts(string Version, int? MajorVersion, string Edition, bool SupportsOnline, bool SupportsResumable,
    bool MetadataOnlyAddColumn = true);

/// <summary>The oldest server release the backfill supports (DESIGN §1: SQL Server 2019+, PostgreSQL 15+).</summary>
public sealed record MinimumServerVersion(int MajorVersion, string Name);

/// <summary>
/// The decisions that depend only on the server and the request, as pure functions so they are tested without a
/// server: how the indexes are built (and whether an edition without online builds is refused), and the
/// pre-flight checks of <see cref="BackfillService.TestPrerequisitesAsync"/>.
/// </summary>
internal static class ServerRules
{
    /// <summary>
    /// The index options a build uses on this server: ONLINE and RESUMABLE only where the server has them (a
    /// request that skips the indexes or asks for an offline build never resumes).
    /// </summary>
    public static IndexBuildOptions EffectiveIndexOptions(BackfillRequest request, ServerFacts server)
    {
        var options = request.Index;
        if (request.SkipIndexes || !options.Online) return options with { Resumable = options.Resumable && options.Online };
        if (!server.SupportsOnline) options = options with { Online = false, Resumable = false };
        if (!server.SupportsResumable) options = options with { Resumable = false };
        return options;
    }

    /// <summary>
    /// Refuses to build indexes offline without consent: an offline build blocks writers for as long as it runs.
    /// Only a build that is still needed has to be online; finished indexes need no consent. Throws
    /// <see cref="InvalidRequestException"/> (bad input, nothing changed: it is checked before any step runs).
    /// </summary>
    public static void RequireOnlineOrConsent(BackfillRequest request, ServerFacts server, bool buildNeeded)
    {
        if (buildNeeded && !request.SkipIndexes && request.Index.Online && !server.SupportsOnline && !request.Index.AllowOffline)
            throw new InvalidRequestException(nameof(IndexBuildOptions.AllowOffline), "off",
                $"is required on {server.Edition}, which cannot build indexes online: an offline build blocks writers while it runs, " +
                "so it must be asked for (--offline-index-build / -AllowOfflineIndexBuild)");
    }

    public static PrerequisiteCheck VersionCheck(ServerFacts server, MinimumServerVersion minimum) => server.MajorVersion switch
    {
        null => new("server version", true, $"{server.Edition} has no version of its own (always current)"),
        { } major when major >= minimum.MajorVersion => new("server version", true, $"major version {major}, at least {minimum.Name} (major {minimum.MajorVersion})"),
        { } major => new("server version", false,
            $"major version {major} ({FirstLine(server.Version)}) is older than {minimum.Name} (major {minimum.MajorVersion}), the oldest release the backfill supports"),
    };

    public static PrerequisiteCheck OnlineIndexCheck(BackfillRequest request, ServerFacts server) =>
        new("online index build", server.SupportsOnline || request.Index.AllowOffline || !request.Index.Online,
            server.SupportsOnline ? $"{server.Edition} builds indexes online"
            : request.Index.AllowOffline || !request.Index.Online ? $"{server.Edition} cannot build indexes online: they will be built offline, blocking writers while they build (asked for)"
            : $"{server.Edition} cannot build indexes online: pass the offline option to build offline (--offline-index-build / -AllowOfflineIndexBuild)");

    /// <summary>
    /// Phase 1 adds the column NOT NULL with a constant default. That is metadata only on SQL Server Enterprise
    /// (Developer, Evaluation) and Azure SQL, and on PostgreSQL 11+; on other SQL Server editions (Standard, Web,
    /// Express) it writes the value into every row while holding a schema-modification lock: a warning, not a
    /// failure (it still works, but blocks the table for as long as the rewrite takes).
    /// https://learn.microsoft.com/sql/t-sql/statements/alter-table-transact-sql#adding-not-null-columns-as-an-online-operation
    /// </summary>
    public static PrerequisiteCheck AddColumnCheck(ServerFacts server, bool columnExists, string column) =>
        columnExists ? new("partition column", true, $"{column} exists")
        : server.MetadataOnlyAddColumn ? new("partition column", true, $"{column} will be added (metadata only)")
        : new("partition column", true,
            $"warning: {column} will be added, but on {server.Edition} adding a NOT NULL column with a default writes every row " +
            "under a schema-modification lock that blocks all access to the table until it ends (metadata only on Enterprise edition and Azure SQL): " +
            "add it in a maintenance window", Warning: true);

    /// <summary>The lookup must hold every system type of the profile; the missing ones are named.</summary>
    public static PrerequisiteCheck LookupCheck(IReadOnlyList<string> systemTypes, IReadOnlyCollection<string> missing, string lookup) =>
        missing.Count == 0
            ? new("lookup holds every system type", true, $"all {systemTypes.Count} system types found in {lookup}")
            : new("lookup holds every system type", false,
                $"{missing.Count} of {systemTypes.Count} system types missing from {lookup}: {string.Join(", ", missing)}");

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
