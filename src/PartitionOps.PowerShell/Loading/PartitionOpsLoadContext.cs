using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace PartitionOps.PowerShell.Loading;

/// <summary>
/// The module's own AssemblyLoadContext over module/bin/dependencies (the pattern of Microsoft's
/// "Resolving PowerShell module assembly dependency conflicts"): the engine, Npgsql, SqlClient and
/// their dependencies load here, so other modules' versions of them (dbatools, Az) never clash with ours.
/// Anything not in the folder (the framework, System.Management.Automation) falls back to the default context.
/// </summary>
public sealed class PartitionOpsLoadContext : AssemblyLoadContext
{
    // Newest first: the output keeps each package's best asset for net8.0 under these folders.
    private static readonly string[] TargetFrameworks =
        ["net8.0", "net7.0", "net6.0", "net5.0", "netcoreapp3.1", "netcoreapp3.0", "netcoreapp2.1", "netstandard2.1", "netstandard2.0"];

    /// <param name="dependencyDirectory">module/bin/dependencies: what the build ships.</param>
    /// <param name="extraDirectories">
    /// Probed after it: the module's lib/ folder, where users drop what we may not ship (Oracle.ManagedDataAccess),
    /// so that the engine loading it by name finds it in this context.
    /// </param>
    public PartitionOpsLoadContext(string dependencyDirectory, params string[] extraDirectories)
        : base("PartitionOps", isCollectible: false)
    {
        DependencyDirectory = Path.GetFullPath(dependencyDirectory);
        Directories = [DependencyDirectory, .. extraDirectories.Select(Path.GetFullPath)];
    }

    public string DependencyDirectory { get; }

    public IReadOnlyList<string> Directories { get; }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = ResolveAssemblyPath(Directories, assemblyName);
        // The ALC must load through its own methods; null hands the name to the default context.
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var directory in Directories)
            if (ResolveNativePath(directory, unmanagedDllName) is { } path) return LoadUnmanagedDllFromPath(path);
        return IntPtr.Zero;
    }

    public static string? ResolveAssemblyPath(IEnumerable<string> directories, AssemblyName assemblyName) =>
        directories.Select(d => ResolveAssemblyPath(d, assemblyName)).FirstOrDefault(p => p != null);

    /// <summary>
    /// Where an assembly lives in the dependency folder. Runtime-specific builds win over the portable
    /// one: SqlClient's portable Microsoft.Data.SqlClient.dll only throws PlatformNotSupportedException,
    /// the working one is under runtimes/unix or runtimes/win.
    /// </summary>
    public static string? ResolveAssemblyPath(string directory, AssemblyName assemblyName)
    {
        if (string.IsNullOrEmpty(assemblyName.Name)) return null;
        var file = assemblyName.Name + ".dll";
        if (!string.IsNullOrEmpty(assemblyName.CultureName) && assemblyName.CultureName != "neutral")
        {
            var satellite = Path.Combine(directory, assemblyName.CultureName, file);
            return File.Exists(satellite) ? satellite : null;
        }
        foreach (var rid in RuntimeIdentifierChain())
        foreach (var tfm in TargetFrameworks)
        {
            var candidate = Path.Combine(directory, "runtimes", rid, "lib", tfm, file);
            if (File.Exists(candidate)) return candidate;
        }
        var plain = Path.Combine(directory, file);
        return File.Exists(plain) ? plain : null;
    }

    /// <summary>A native library (SqlClient's SNI on Windows) under runtimes/&lt;rid&gt;/native.</summary>
    public static string? ResolveNativePath(string directory, string libraryName)
    {
        var names = new List<string> { libraryName };
        if (!Path.HasExtension(libraryName))
        {
            if (OperatingSystem.IsWindows()) names.Add(libraryName + ".dll");
            else if (OperatingSystem.IsMacOS()) { names.Add(libraryName + ".dylib"); names.Add("lib" + libraryName + ".dylib"); }
            else { names.Add(libraryName + ".so"); names.Add("lib" + libraryName + ".so"); }
        }
        foreach (var rid in RuntimeIdentifierChain())
        foreach (var name in names)
        {
            var candidate = Path.Combine(directory, "runtimes", rid, "native", name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The current platform's runtime identifiers, most specific first (win-x64, win; linux-x64, linux, unix).</summary>
    public static IReadOnlyList<string> RuntimeIdentifierChain()
    {
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (OperatingSystem.IsWindows()) return [$"win-{arch}", "win"];
        if (OperatingSystem.IsMacOS()) return [$"osx-{arch}", "osx", "unix"];
        return [$"linux-{arch}", "linux", "unix"];
    }
}
