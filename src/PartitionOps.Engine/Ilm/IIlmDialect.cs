namespace PartitionOps.Engine.Ilm;

/// <summary>ILM SQL for one database engine: builds text only, never executes.</summary>
public interface IIlmDialect
{
}
