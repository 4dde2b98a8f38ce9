namespace PartitionOps.Engine.Backfill;

/// <summary>The profile resolved against a database: schema filled in, control schema chosen.</summary>
public sealed record BackfillTable(string Schema, BackfillProfile Profile, string ControlSchema)
{
    public string Table => Profile.Table;

    /// <summary>Key of this table in the control tables and lock names, e.g. "public.Resource.PartitionId".</summary>
    public string LockResource(string? typeName = null) =>
        $"partitionops.backfill.{Schema}.{Profile.Table}.{Profile.PartitionColumn}" + (typeName is null ? "" : "." + typeName);
}

/// <summary>
/// A filtered index of phase 2: key <see cref="Columns"/>, <see cref="Include"/> columns at the leaf, and
/// WHERE partition column = <see cref="FilterValue"/> AND every one of <see cref="Where"/>.
/// </summary>
public sealed record FilteredIndex(string Name, IReadOnlyList<string> Columns, int FilterValue)
{
    public IReadOnlyList<string> Include { get; init; } = [];
    /// <summary>Extra equality conditions ANDed to the partition filter, in this order.</summary>
    public IReadOnlyList<IndexCondition> Where { get; init; } = [];
    public bool Unique { get; init; } = true;
}

/// <summary>
/// column = value in a filtered index's predicate. A boolean value is written as a boolean literal where the
/// engine has one (PostgreSQL: true / false) and as 1 / 0 where it has not (SQL Server's bit).
/// </summary>
public sealed record IndexCondition(string Column, long Value, bool IsBoolean = false);

/// <summary>What the catalog says of one index on one table object (the table, or one of its partitions).</summary>
public sealed record IndexState(string ObjectSchema, string ObjectName, string IndexName, bool IsValid, bool IsPaused)
{
    /// <summary>The MAXDOP a paused resumable build last ran with (it cannot change on resume); null when unknown.</summary>
    public int? PausedMaxDop { get; init; }
}

/// <summary>
/// A partition of a partitioned table (PostgreSQL declarative partitioning), at any depth: a leaf that owns
/// storage, or a sub-partitioned table (<see cref="IsLeaf"/> false) with partitions of its own.
/// </summary>
public sealed record TablePartition(string Schema, string Name)
{
    /// <summary>The partitioned table this is a partition of; null: the table itself (one level).</summary>
    public string? ParentSchema { get; init; }
    public string? ParentName { get; init; }
    /// <summary>True for a partition that owns storage; false for a sub-partitioned one.</summary>
    public bool IsLeaf { get; init; } = true;
    /// <summary>1 for the table's own partitions, 2 for theirs, and so on.</summary>
    public int Level { get; init; } = 1;
}

/// <summary>Options of phase 2. SQL Server uses them all; PostgreSQL builds CONCURRENTLY and ignores the rest.</summary>
public sealed record IndexBuildOptions
{
    public bool Online { get; init; } = true;
    public bool Resumable { get; init; } = true;
    /// <summary>MAX_DURATION of a resumable build, in minutes (the spec's 240).</summary>
    public int MaxDurationMinutes { get; init; } = 240;
    public int MaxDop { get; init; } = 4;
    /// <summary>NONE, ROW or PAGE.</summary>
    public string DataCompression { get; init; } = "PAGE";
    /// <summary>Build offline where the edition cannot build online (otherwise such a server is refused).</summary>
    public bool AllowOffline { get; init; }

    public static readonly IReadOnlyList<string> Compressions = ["NONE", "ROW", "PAGE"];

    /// <summary>
    /// SQL Server's own limits, checked before anything connects: MAX_DURATION of a resumable build is 1 to 10,080 minutes
    /// (one week), and MAXDOP 0 to 64 for an index operation (0: the server's setting)
    /// (https://learn.microsoft.com/sql/t-sql/statements/create-index-transact-sql#max_duration--time--minutes-).
    /// </summary>
    public const int MaxDurationLimitMinutes = 10_080;
    public const int MaxDopLimit = 64;

    /// <summary>Throws <see cref="InvalidRequestException"/> keyed by this record's property names.</summary>
    public void Validate()
    {
        if (MaxDop is < 0 or > MaxDopLimit)
            throw new InvalidRequestException(nameof(MaxDop), MaxDop, $"must be between 0 (the server's setting) and {MaxDopLimit}");
        if (!Compressions.Contains((DataCompression ?? "").Trim(), StringComparer.OrdinalIgnoreCase))
            throw new InvalidRequestException(nameof(DataCompression), DataCompression, "must be one of NONE, ROW, PAGE");
        if (MaxDurationMinutes is < 1 or > MaxDurationLimitMinutes)
            throw new InvalidRequestException(nameof(MaxDurationMinutes), MaxDurationMinutes,
                $"must be between 1 and {MaxDurationLimitMinutes:N0} minutes (SQL Server's MAX_DURATION)");
    }
}

/// <summary>Which way a run moves rows: backfill puts system types in the system partition; undo puts them back.</summary>
public enum BackfillDirection
{
    Backfill,
    Undo,
}
