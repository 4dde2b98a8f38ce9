using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PartitionOps.PowerShell.Loading;

/// <summary>
/// Runs on Import-Module / Remove-Module. PowerShell loads this assembly into the default context;
/// when that context cannot find one of our PartitionOps.* assemblies (they are deliberately not in
/// module/bin) this hands it to <see cref="PartitionOpsLoadContext"/>, and every dependency of the
/// engine then resolves inside that context first.
/// </summary>
public sealed class PartitionOpsModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public const string DependencyFolderName = "dependencies";

    private static readonly Lazy<PartitionOpsLoadContext> Context =
        new(() => new PartitionOpsLoadContext(DefaultDependencyDirectory, DefaultLibDirectory));

    private static string BinDirectory => Path.GetDirectoryName(typeof(PartitionOpsModuleInitializer).Assembly.Location) ?? ".";

    /// <summary>module/bin/dependencies, next to this assembly.</summary>
    public static string DefaultDependencyDirectory => Path.Combine(BinDirectory, DependencyFolderName);

    /// <summary>
    /// The module's lib/ folder (next to bin/; module/lib in a checkout): Oracle.ManagedDataAccess goes
    /// here (./build.ps1 -Task Package -IncludeOracleClient), and resolves by name inside our context.
    /// </summary>
    public static string DefaultLibDirectory => Path.GetFullPath(Path.Combine(BinDirectory, "..", "lib"));

    public void OnImport()
    {
        // Import-Module -Force runs this again: never subscribe twice.
        AssemblyLoadContext.Default.Resolving -= OnResolving;
        AssemblyLoadContext.Default.Resolving += OnResolving;
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= OnResolving;

    private static Assembly? OnResolving(AssemblyLoadContext defaultContext, AssemblyName assemblyName) =>
        Resolve(Context.Value, assemblyName);

    /// <summary>
    /// Only our own entry assemblies are answered from the default context's event: answering for
    /// Npgsql or SqlClient there would hand our copies to every other module in the session.
    /// </summary>
    public static Assembly? Resolve(PartitionOpsLoadContext context, AssemblyName assemblyName)
    {
        if (!IsOwnAssembly(assemblyName)) return null;
        if (PartitionOpsLoadContext.ResolveAssemblyPath(context.Directories, assemblyName) is null) return null;
        return context.LoadFromAssemblyName(assemblyName);
    }

    public static bool IsOwnAssembly(AssemblyName assemblyName) =>
        assemblyName.Name is { } name
        && name.StartsWith("PartitionOps.", StringComparison.Ordinal)
        && name != typeof(PartitionOpsModuleInitializer).Assembly.GetName().Name;
}
