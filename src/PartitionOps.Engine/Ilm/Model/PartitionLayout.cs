namespace PartitionOps.Engine.Ilm.Model;

/// <summary>
/// One range partition as the catalog shows it. Bounds are dates: the lower bound is inclusive and the
/// upper bound exclusive, as in Oracle's VALUES LESS THAN and PostgreSQL's FROM .. TO.
/// </summary>
public sealed record PartitionInfo
{
    public required string Name { get; init; }

    /// <summary>1-based position in bound order (Oracle PARTITION_POSITION; computed on PostgreSQL).</summary>
    public int Position { get; init; }

    /// <summary>Inclusive lower bound; null for the first partition (Oracle) or FROM (MINVALUE).</summary>
    public DateTime? LowerBound { get; init; }

    /// <summary>Exclusive upper bound; null for MAXVALUE.</summary>
    public DateTime? UpperBound { get; init; }

    public string? Tablespace { get; init; }

    /// <summary>NONE, BASIC, ADVANCED... or null when the engine has no table compression (PostgreSQL).</summary>
    public string? Compression { get; init; }

    /// <summary>Catalog estimate (Oracle NUM_ROWS, PostgreSQL reltuples); null when never analysed.</summary>
    public long? RowEstimate { get; init; }

    /// <summary>Created by Oracle interval partitioning (ALL_TAB_PARTITIONS.INTERVAL = 'YES').</summary>
    public bool IsInterval { get; init; }

    public bool IsMaxValue => UpperBound is null;
}

/// <summary>
/// A snapshot of one partitioned table's layout: what the planner works from. It can be read from a
/// live catalog or from a JSON file (<c>ilm snapshot</c>, <c>--layout FILE</c>), so plans and
/// simulations run offline.
/// </summary>
public sealed record PartitionLayout
{
    /// <summary>The provider whose catalog this came from (oracle, postgresql), informational.</summary>
    public string? Provider { get; init; }

    public string Schema { get; init; } = "";

    public required string Table { get; init; }

    /// <summary>The single range partition key column.</summary>
    public string? PartitionKey { get; init; }

    /// <summary>Columns copied by a PostgreSQL merge (INSERT .. SELECT); empty on Oracle.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>
    /// PostgreSQL: the columns of the partitioned table's primary key (else of a unique index on NOT NULL columns), read
    /// from the catalog; null when it has none (or the layout came from a file without them). With them, a rebuild
    /// captures concurrent changes instead of holding writers back for its copy.
    /// </summary>
    public IReadOnlyList<string>? KeyColumns { get; init; }

    /// <summary>Oracle INTERVAL partitioning: multi-partition merges are not allowed, merges go pairwise.</summary>
    public bool IsIntervalPartitioned { get; init; }

    /// <summary>
    /// Oracle index-organized table (ALL_TABLES.IOT_TYPE not null): merging more than two partitions is only supported
    /// for heap tables (ORA-14806), so merges go pairwise.
    /// </summary>
    public bool IsIndexOrganized { get; init; }

    /// <summary>Why this table's merges must go two partitions at a time, or null when several may merge in one statement.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? PairwiseMergeReason =>
        IsIntervalPartitioned ? "interval-partitioned"
        : IsIndexOrganized ? "index-organized (ORA-14806: more than two partitions merge only on heap tables)"
        : null;

    /// <summary>
    /// Why a policy's <c>online: true</c> cannot be honoured on this table, or null. Oracle supports MOVE PARTITION ONLINE only
    /// for heap-organized tables (ORA-14808: https://docs.oracle.com/en/error-help/db/ora-14808), and ONLINE merges are
    /// documented for heap tables only, so an index-organized table is moved and merged with UPDATE INDEXES instead; the
    /// planner puts this reason on those actions so that the choice is visible in the plan rather than silently dropped.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? OnlineUnavailableReason =>
        IsIndexOrganized ? "index-organized table: ONLINE moves and merges are only supported for heap-organized tables (ORA-14808)" : null;

    /// <summary>Major version of the server (Oracle 19, 23; PostgreSQL 15...): decides ONLINE on Oracle 18c+.</summary>
    public int? ServerMajorVersion { get; init; }

    public DateTime? CapturedAtUtc { get; init; }

    public required IReadOnlyList<PartitionInfo> Partitions { get; init; }

    /// <summary>
    /// Partitions in bound order with each missing lower bound filled from the partition before it
    /// (Oracle ranges are contiguous, so the catalog only stores upper bounds).
    /// </summary>
    public IReadOnlyList<PartitionInfo> InBoundOrder()
    {
        var ordered = Partitions
            .OrderBy(p => p.UpperBound ?? DateTime.MaxValue)
            .ThenBy(p => p.Position)
            .ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            var p = ordered[i];
            if (p.LowerBound is null && i > 0 && ordered[i - 1].UpperBound is { } previousUpper)
                p = p with { LowerBound = previousUpper };
            ordered[i] = p with { Position = i + 1 };
        }
        return ordered;
    }
}
