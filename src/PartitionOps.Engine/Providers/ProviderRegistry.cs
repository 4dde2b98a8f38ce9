using PartitionOps.Engine.Providers.Oracle;
using PartitionOps.Engine.Providers.PostgreSql;
using PartitionOps.Engine.Providers.SqlServer;

namespace PartitionOps.Engine.Providers;

/// <summary>Looks providers up by their command-line name.</summary>
public static class ProviderRegistry
{
    private static readonly Dictionary<string, Func<IDatabaseProvider>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["postgresql"] = () => PostgreSqlProvider.Instance,
        ["postgres"] = () => PostgreSqlProvider.Instance,
        ["sqlserver"] = () => SqlServerProvider.Instance,
        ["mssql"] = () => SqlServerProvider.Instance,
        ["oracle"] = () => OracleProvider.Instance,
    };

    /// <summary>The canonical names of the registered providers (aliases left out).</summary>
    public static IReadOnlyCollection<string> Names =>
        Factories.Where(kv => string.Equals(kv.Key, kv.Value().Name, StringComparison.OrdinalIgnoreCase))
            .Select(kv => kv.Key).Order().ToList();

    /// <summary>Every registered provider, once.</summary>
    public static IReadOnlyList<IDatabaseProvider> All => Factories.Values.Select(f => f()).Distinct().ToList();

    /// <summary>Lets a provider that lives elsewhere (Oracle, loaded at run time) register itself.</summary>
    public static void Register(string name, Func<IDatabaseProvider> factory) => Factories[name] = factory;

    public static IDatabaseProvider Get(string? name)
    {
        if (name != null && Factories.TryGetValue(name, out var factory)) return factory();
        throw new InvalidRequestException(
            nameof(DatabaseTarget.Provider), name ?? "", $"is not a known provider: use one of {string.Join(", ", Names)}");
    }
}
