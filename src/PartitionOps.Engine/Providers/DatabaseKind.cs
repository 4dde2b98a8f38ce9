namespace PartitionOps.Engine.Providers;

public enum DatabaseKind
{
    SqlServer,
    Oracle,
    PostgreSql,
}
