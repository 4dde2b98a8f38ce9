namespace PartitionOps.Engine.Providers;

/// <summary>Names shared by everything that keeps control tables (backfill and ILM share the control schema).</summary>
public static class ControlTables
{
    /// <summary>
    /// The application lock that serializes creation of control tables in <paramref name="controlSchema"/>:
    /// every component that creates tables there takes it first, held to the end of its creating transaction.
    /// </summary>
    public static string CreationLock(string controlSchema) => $"partitionops.control.{controlSchema}";
}
