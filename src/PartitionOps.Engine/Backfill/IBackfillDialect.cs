namespace PartitionOps.Engine.Backfill;

/// <summary>Backfill SQL for one database engine: builds text only, never executes.</summary>
public interface IBackfillDialect
{
}
