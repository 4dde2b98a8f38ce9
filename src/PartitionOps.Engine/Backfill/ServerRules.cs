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
                "so it must be asked for");
    }

    public static PrerequisiteCheck VersionCheck(ServerFacts server, MinimumServerVersion minimum) => server.MajorVersion switch
    {
        null => new("server version", true, $"{server.Edition} has no version of its own (always current)"),
        { } major when major >= minimum.MajorVersion => new("server version", true,
            $"major version {major}, at least {minimum.Name} (major {minimum.MajorVersion})"),
        { } major => new("server version", false,
            $"major version {major} ({FirstLine(server.Version)}) is older than {minimum.Name} (major {minimum.MajorVersion}), " +
            "the oldest release the backfill supports"),
    };

    public static PrerequisiteCheck OnlineIndexCheck(BackfillRequest request, ServerFacts server) =>
        new("online index build", server.SupportsOnline || request.Index.AllowOffline || !request.Index.Online,
            server.SupportsOnline ? $"{server.Edition} builds indexes online"
            : request.Index.AllowOffline || !request.Index.Online
                ? $"{server.Edition} cannot build indexes online: they will be built offline, blocking writers while they build (asked for)"
            : $"{server.Edition} cannot build indexes online: ask for an offline build to build them offline " +
              "(it blocks writers while it runs)");

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
            "under a schema-modification lock that blocks all access to the table until it ends " +
            "(metadata only on Enterprise edition and Azure SQL): " +
            "add it in a maintenance window", Warning: true);

    /// <summary>Bytes the partition column adds to the maximum row: its width, plus one for a null-bitmap byte it may add.</summary>
    public static int PartitionColumnBytes(string type) => type.ToLowerInvariant() switch
    {
        "smallint" => 2 + 1,
        "bigint" => 8 + 1,
        _ => 4 + 1,
    };

    /// <summary>
    /// Where the engine cannot add a column online once the maximum possible row passes a limit (SQL Server: 8,060 bytes;
    /// the add then runs offline, rewriting every row under a schema-modification lock), a column add that would pass it
    /// is refused: not passed in the pre-flight, invalid input at start (nothing changed).
    /// https://learn.microsoft.com/sql/t-sql/statements/alter-table-transact-sql#adding-not-null-columns-as-an-online-operation
    /// </summary>
    public static PrerequisiteCheck RowSizeCheck(int? maxRowBytes, int? limit, bool columnExists, BackfillProfile profile, string table)
    {
        const string name = "online column add (row size)";
        if (columnExists) return new(name, true, $"{profile.PartitionColumn} exists: nothing to add");
        if (limit is null || maxRowBytes is null) return new(name, true, "this engine adds the column by metadata whatever the row size");
        var after = maxRowBytes.Value + PartitionColumnBytes(profile.PartitionColumnType);
        return after <= limit
            ? new(name, true,
                $"the largest possible row of {table} grows to about {after} bytes, within the {limit}-byte limit of an online add")
            : new(name, false,
                $"the largest possible row of {table} would be about {after} bytes with {profile.PartitionColumn} " +
                $"({profile.PartitionColumnType}), past the {limit}-byte limit: the server would add the column offline, rewriting every " +
                "row under a schema-modification lock that blocks all access to the table. Add it yourself in a maintenance window " +
                $"(ALTER TABLE ... ADD {profile.PartitionColumn} {profile.PartitionColumnType} NOT NULL DEFAULT {profile.DefaultValue}), " +
                "then start again: phase 1 is skipped when the column exists");
    }

    /// <summary>How long one index build is estimated to take: the table's catalog rows at the request's build rate.</summary>
    public static TimeSpan IndexBuildEstimate(long tableRows, double rowsPerSecond) =>
        TimeSpan.FromSeconds(Math.Ceiling(Math.Max(0, tableRows) / rowsPerSecond));

    /// <summary>"2 h 05 min" / "4 min" / "12 s" for messages.</summary>
    public static string Human(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes:00} min"
        : t.TotalMinutes >= 1 ? $"{(int)Math.Ceiling(t.TotalMinutes)} min"
        : $"{Math.Ceiling(t.TotalSeconds):0} s";

    /// <summary>
    /// Null when the build may start; else why not: a build that cannot be paused is not started under a time limit
    /// unless its estimate fits in the time left (a stopped build is lost work, and holds the job past its limit).
    /// </summary>
    public static string? DeferBuild(string? notResumableReason, TimeSpan? maxDuration, TimeSpan elapsed, TimeSpan estimate,
        long tableRows, double rowsPerSecond)
    {
        if (notResumableReason is null || maxDuration is not { } limit) return null;
        var left = limit - elapsed;
        if (estimate <= left) return null;
        return $"not started: it cannot be paused ({notResumableReason}), and it is estimated at {Human(estimate)} " +
               $"({tableRows:N0} rows at {rowsPerSecond:N0} rows/s, the index build rate) while " +
               $"{Human(left < TimeSpan.Zero ? TimeSpan.Zero : left)} of the time limit is left." +
               " Run the indexes phase alone without a time limit, e.g. on a Hybrid Worker or in an Agent job";
    }

    /// <summary>The lookup must hold every system type of the profile; the missing ones are named.</summary>
    public static PrerequisiteCheck LookupCheck(IReadOnlyList<string> systemTypes, IReadOnlyCollection<string> missing, string lookup) =>
        missing.Count == 0
            ? new("lookup holds every system type", true, $"all {systemTypes.Count} system types found in {lookup}")
            : new("lookup holds every system type", false,
                $"{missing.Count} of {systemTypes.Count} system types missing from {lookup}: {string.Join(", ", missing)}");

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
