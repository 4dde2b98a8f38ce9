using System.Reflection;
using System.Runtime.Loader;
using PartitionOps.PowerShell.Loading;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// The module layout the build produces (module/bin, module/bin/dependencies) and the load context
/// that isolates the engine and drivers. Building this test project builds the cmdlet project,
/// whose CopyToModuleBin target lays the module out.
/// </summary>
public class LoadContextTests
{
    [Fact]
    public void Module_bin_holds_only_the_cmdlet_assembly()
    {
        var assemblies = Directory.GetFiles(ModuleFacts.ModuleBin, "*.dll").Select(Path.GetFileName).ToList();
        Assert.Equal(["PartitionOps.PowerShell.dll"], assemblies);
    }

    [Fact]
    public void Dependencies_folder_holds_engine_and_drivers_but_not_PowerShell()
    {
        var dir = ModuleFacts.DependencyDirectory;
        foreach (var file in new[] { "PartitionOps.Engine.dll", "Npgsql.dll", "Microsoft.Data.SqlClient.dll" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file + " missing from module/bin/dependencies");
        Assert.Empty(Directory.GetFiles(ModuleFacts.ModuleBin, "System.Management.Automation.dll", SearchOption.AllDirectories));
    }

    [Fact]
    public void Neither_the_module_nor_the_engine_carries_the_demo_support()
    {
        // ThrowawayPostgres and FhirSample live in PartitionOps.Demo: the CLI's demo command and the tests reference it.
        Assert.Empty(Directory.GetFiles(ModuleFacts.ModuleBin, "PartitionOps.Demo.dll", SearchOption.AllDirectories));
        var engine = typeof(InvalidRequestException).Assembly;
        foreach (var assembly in new[] { ModuleFacts.CmdletAssembly, engine })
            Assert.DoesNotContain(assembly.GetReferencedAssemblies(), a => a.Name == "PartitionOps.Demo");
        Assert.DoesNotContain(engine.GetTypes(), t => t.Name is "ThrowawayPostgres" or "FhirSample" or "FhirSampleOptions");
    }

    [Fact]
    public void Custom_context_loads_the_engine_from_the_dependencies_folder()
    {
        var context = new PartitionOpsLoadContext(ModuleFacts.DependencyDirectory);
        var engine = context.LoadFromAssemblyName(new AssemblyName("PartitionOps.Engine"));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(engine));
        Assert.NotSame(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(engine));
        Assert.Equal(Path.Combine(Path.GetFullPath(ModuleFacts.DependencyDirectory), "PartitionOps.Engine.dll"), engine.Location);
        // The test host's engine (default context) is a different assembly: types do not mix.
        Assert.NotSame(typeof(PartitionOps.Engine.Providers.DatabaseTarget).Assembly, engine);
    }

    [Fact]
    public void Engine_dependencies_resolve_inside_the_custom_context()
    {
        var context = new PartitionOpsLoadContext(ModuleFacts.DependencyDirectory);
        var engine = context.LoadFromAssemblyName(new AssemblyName("PartitionOps.Engine"));
        var registry = engine.GetType("PartitionOps.Engine.Providers.ProviderRegistry", throwOnError: true)!;
        var provider = registry.GetMethod("Get")!.Invoke(null, ["postgresql"])!;
        using var connection = (System.Data.Common.DbConnection)provider.GetType().GetMethod("CreateConnection")!
            .Invoke(provider, ["Host=localhost;Database=x", null])!;

        var npgsql = connection.GetType().Assembly;
        Assert.Equal("Npgsql", npgsql.GetName().Name);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(npgsql));
        Assert.StartsWith(Path.GetFullPath(ModuleFacts.DependencyDirectory), npgsql.Location);
    }

    [Fact]
    public void SqlClient_works_inside_the_custom_context()
    {
        // With the portable SqlClient this throws PlatformNotSupportedException.
        var context = new PartitionOpsLoadContext(ModuleFacts.DependencyDirectory);
        var engine = context.LoadFromAssemblyName(new AssemblyName("PartitionOps.Engine"));
        var registry = engine.GetType("PartitionOps.Engine.Providers.ProviderRegistry", throwOnError: true)!;
        var provider = registry.GetMethod("Get")!.Invoke(null, ["sqlserver"])!;
        using var connection = (System.Data.Common.DbConnection)provider.GetType().GetMethod("CreateConnection")!
            .Invoke(provider, ["Server=sql01;Database=fhir;Integrated Security=true", null])!;
        Assert.Equal("Microsoft.Data.SqlClient", connection.GetType().Assembly.GetName().Name);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(connection.GetType().Assembly));
        Assert.Contains("runtimes", connection.GetType().Assembly.Location);
    }

    [Fact]
    public void SqlClient_resolves_to_the_runtime_specific_build()
    {
        // The portable Microsoft.Data.SqlClient.dll only throws PlatformNotSupportedException.
        var path = PartitionOpsLoadContext.ResolveAssemblyPath(ModuleFacts.DependencyDirectory,
            new AssemblyName("Microsoft.Data.SqlClient"));
        Assert.NotNull(path);
        var expected = OperatingSystem.IsWindows() ? "win" : "unix";
        Assert.Contains(Path.Combine("runtimes", expected, "lib"), path);
    }

    [Fact]
    public void Resolving_handler_answers_only_our_assemblies()
    {
        var context = new PartitionOpsLoadContext(ModuleFacts.DependencyDirectory);

        var engine = PartitionOpsModuleInitializer.Resolve(context, new AssemblyName("PartitionOps.Engine"));
        Assert.NotNull(engine);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(engine));

        // Another module's failed load of Npgsql must not be handed our copy; nor may the cmdlet assembly load twice.
        Assert.Null(PartitionOpsModuleInitializer.Resolve(context, new AssemblyName("Npgsql")));
        Assert.Null(PartitionOpsModuleInitializer.Resolve(context, new AssemblyName("PartitionOps.PowerShell")));
        Assert.Null(PartitionOpsModuleInitializer.Resolve(context, new AssemblyName("PartitionOps.DoesNotExist")));
    }

    [Fact]
    public void Cmdlet_code_in_another_context_reaches_the_isolated_engine()
    {
        // Emulates Import-Module: the cmdlet assembly from module/bin in a "PowerShell" context that
        // cannot see the engine, with our resolver answering for PartitionOps.* assemblies.
        var isolated = new PartitionOpsLoadContext(ModuleFacts.DependencyDirectory);
        var host = new HostContext(isolated);
        try
        {
            var cmdlets = host.LoadFromAssemblyPath(Path.Combine(ModuleFacts.ModuleBin, "PartitionOps.PowerShell.dll"));
            var requestType = cmdlets.GetType("PartitionOps.PowerShell.Connection.ConnectionRequest", throwOnError: true)!;
            var request = Activator.CreateInstance(requestType)!;
            requestType.GetProperty("SqlInstance")!.SetValue(request, "pg01:5433");
            requestType.GetProperty("Provider")!.SetValue(request, "postgresql");
            var mapping = cmdlets.GetType("PartitionOps.PowerShell.Connection.ConnectionMapping", throwOnError: true)!;
            var connection = mapping.GetMethod("ToConnection")!.Invoke(null, [request])!;

            Assert.Equal("postgresql", connection.GetType().GetProperty("Provider")!.GetValue(connection));
            var target = connection.GetType().GetProperty("Target", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(connection)!;
            Assert.Same(isolated, AssemblyLoadContext.GetLoadContext(target.GetType().Assembly));
            using var db = (System.Data.Common.DbConnection)target.GetType().GetMethod("CreateConnection")!.Invoke(target, null)!;
            Assert.Same(isolated, AssemblyLoadContext.GetLoadContext(db.GetType().Assembly));
        }
        finally
        {
            host.Unload();
        }
    }

    private sealed class HostContext(PartitionOpsLoadContext isolated) : AssemblyLoadContext("PowerShellHost", isCollectible: true)
    {
        // PartitionOps.* goes through our resolver; a driver requested from the cmdlet side would mean
        // a cmdlet uses it directly, which must not happen. Everything else: the default context.
        protected override Assembly? Load(AssemblyName assemblyName) => assemblyName.Name switch
        {
            "PartitionOps.Engine" => PartitionOpsModuleInitializer.Resolve(isolated, assemblyName),
            "Npgsql" or "Microsoft.Data.SqlClient" => throw new FileNotFoundException("the cmdlet side asked for " + assemblyName.Name),
            _ => null,
        };
    }

    [Fact]
    public void Framework_assemblies_fall_back_to_the_default_context()
    {
        Assert.Null(PartitionOpsLoadContext.ResolveAssemblyPath(ModuleFacts.DependencyDirectory, new AssemblyName("System.Runtime")));
        Assert.Null(PartitionOpsLoadContext.ResolveAssemblyPath(ModuleFacts.DependencyDirectory,
            new AssemblyName("System.Management.Automation")));
    }

    [Fact]
    public void Default_dependency_directory_is_next_to_the_cmdlet_assembly()
    {
        var dir = Path.GetDirectoryName(typeof(PartitionOpsModuleInitializer).Assembly.Location)!;
        Assert.Equal(Path.Combine(dir, "dependencies"), PartitionOpsModuleInitializer.DefaultDependencyDirectory);
    }

    [Fact]
    public void The_lib_folder_is_probed_after_the_dependencies()
    {
        var lib = Directory.CreateTempSubdirectory("partitionops-lib-").FullName;
        try
        {
            // A stand-in for Oracle.ManagedDataAccess.dll: probing only looks at file names.
            File.Copy(Path.Combine(ModuleFacts.DependencyDirectory, "Npgsql.dll"), Path.Combine(lib, "Oracle.ManagedDataAccess.dll"));
            File.Copy(Path.Combine(ModuleFacts.DependencyDirectory, "Npgsql.dll"), Path.Combine(lib, "Npgsql.dll"));
            var context = new PartitionOpsLoadContext(ModuleFacts.DependencyDirectory, lib);

            Assert.Equal(Path.Combine(lib, "Oracle.ManagedDataAccess.dll"),
                PartitionOpsLoadContext.ResolveAssemblyPath(context.Directories, new AssemblyName("Oracle.ManagedDataAccess")));
            Assert.Equal(Path.Combine(Path.GetFullPath(ModuleFacts.DependencyDirectory), "Npgsql.dll"),
                PartitionOpsLoadContext.ResolveAssemblyPath(context.Directories, new AssemblyName("Npgsql")));
        }
        finally
        {
            Directory.Delete(lib, recursive: true);
        }
    }

    [Fact]
    public void Default_lib_directory_is_beside_bin()
    {
        var bin = Path.GetDirectoryName(typeof(PartitionOpsModuleInitializer).Assembly.Location)!;
        Assert.Equal(Path.Combine(Path.GetDirectoryName(bin)!, "lib"), PartitionOpsModuleInitializer.DefaultLibDirectory);
    }

    [Fact]
    public void Import_and_remove_can_run_repeatedly()
    {
        var initializer = new PartitionOpsModuleInitializer();
        initializer.OnImport();
        initializer.OnImport();
        initializer.OnRemove(null!);
    }
}
