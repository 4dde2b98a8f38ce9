using System.Data.Common;
using System.Reflection;
using System.Runtime.Loader;

namespace PartitionOps.Engine.Providers.Oracle;

/// <summary>
/// Finds ODP.NET (Oracle.ManagedDataAccess) at run time: no registry the build uses serves it, and
/// users install it themselves. Looked for, in order: the file or folder named by
/// PARTITIONOPS_ORACLE_DRIVER, the lib/ folder next to the engine assembly (the PowerShell module's
/// layout), an assembly the process already loaded.
/// </summary>
public static class OracleDriver
{
    public const string AssemblyName = "Oracle.ManagedDataAccess";
    public const string FileName = AssemblyName + ".dll";
    public const string EnvironmentVariable = "PARTITIONOPS_ORACLE_DRIVER";
    public const string FactoryTypeName = "Oracle.ManagedDataAccess.Client.OracleClientFactory";

    private static readonly Lazy<DbProviderFactory> Loaded = new(() => Load(
        Environment.GetEnvironmentVariable(EnvironmentVariable),
        Path.GetDirectoryName(typeof(OracleDriver).Assembly.Location) ?? AppContext.BaseDirectory,
        () => AppDomain.CurrentDomain.GetAssemblies()));

    /// <summary>OracleClientFactory.Instance; throws <see cref="PartitionOpsException"/> saying how to get the driver.</summary>
    public static DbProviderFactory Factory => Loaded.Value;

    internal static DbProviderFactory Load(string? explicitPath, string engineDirectory, Func<IEnumerable<Assembly>> loadedAssemblies)
    {
        var looked = new List<string>();
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            var file = Directory.Exists(explicitPath) ? Path.Combine(explicitPath, FileName) : explicitPath;
            if (!File.Exists(file))
                throw new PartitionOpsException(
                    $"{EnvironmentVariable} names '{explicitPath}', but {FileName} is not there. " + HowToGetIt(engineDirectory));
            return FromAssembly(LoadFile(file));
        }
        looked.Add($"{EnvironmentVariable} (not set)");

        var beside = Path.Combine(engineDirectory, "lib", FileName);
        looked.Add(beside);
        if (File.Exists(beside)) return FromAssembly(LoadFile(beside));

        var already = loadedAssemblies().FirstOrDefault(a => a.GetName().Name == AssemblyName);
        looked.Add("assemblies already loaded in this process");
        if (already != null) return FromAssembly(already);

        throw new PartitionOpsException(
            $"The Oracle driver {FileName} was not found (looked in: {string.Join("; ", looked)}). " + HowToGetIt(engineDirectory));
    }

    internal static string HowToGetIt(string engineDirectory) =>
        "Get it from the NuGet package Oracle.ManagedDataAccess.Core (https://www.nuget.org/packages/Oracle.ManagedDataAccess.Core), " +
        "e.g. 'nuget install Oracle.ManagedDataAccess.Core' or 'dotnet add package Oracle.ManagedDataAccess.Core', " +
        $"and copy lib/net8.0/{FileName} " +
        $"into {Path.Combine(engineDirectory, "lib")} or set {EnvironmentVariable} to the file's path.";

    /// <summary>The factory singleton of an assembly that contains ODP.NET's OracleClientFactory.</summary>
    internal static DbProviderFactory FromAssembly(Assembly assembly)
    {
        var type = assembly.GetType(FactoryTypeName)
            ?? throw new PartitionOpsException($"{assembly.GetName().Name} has no {FactoryTypeName}: is it really ODP.NET?");
        var instance = type.GetField("Instance", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as DbProviderFactory;
        return instance ?? throw new PartitionOpsException($"{FactoryTypeName}.Instance is missing in {assembly.Location}");
    }

    private static Assembly LoadFile(string path)
    {
        try
        {
            // Into the engine's own context: inside the PowerShell module that is the isolated one, so the
            // driver and its dependencies never meet other modules' versions in the default context.
            var context = AssemblyLoadContext.GetLoadContext(typeof(OracleDriver).Assembly) ?? AssemblyLoadContext.Default;
            return context.LoadFromAssemblyPath(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException)
        {
            throw new PartitionOpsException($"could not load the Oracle driver from {path}: {e.Message}", e);
        }
    }
}
