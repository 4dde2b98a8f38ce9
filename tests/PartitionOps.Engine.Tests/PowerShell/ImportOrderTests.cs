using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// Import-Module loads every exported type of the cmdlet assembly (Assembly.ExportedTypes) BEFORE it
/// calls IModuleAssemblyInitializer.OnImport, i.e. before our resolver can find the engine. So no
/// exported type may need PartitionOps.Engine just to load: no engine struct or enum as a field
/// (auto-property backing fields count), no engine base class or interface. Engine types in method
/// bodies, property types and class-typed fields are fine: they load later, after OnImport.
/// </summary>
public class ImportOrderTests
{
    [Fact]
    public void Exported_types_load_without_the_engine()
    {
        var context = new NoEngineContext();
        try
        {
            var cmdlets = context.LoadFromAssemblyPath(Path.Combine(ModuleFacts.ModuleBin, "PartitionOps.PowerShell.dll"));
            // What PowerShell does before OnImport (PSSnapInHelpers.GetAssemblyTypes + ExecuteModuleInitializer).
            var types = cmdlets.ExportedTypes.ToArray();
            foreach (var type in types)
            {
                _ = type.IsPublic || type.IsNestedPublic;
                _ = type.IsAbstract;
                _ = typeof(IModuleAssemblyInitializer).IsAssignableFrom(type);
                _ = typeof(Cmdlet).IsAssignableFrom(type);
                Assert.True(type.TypeHandle.Value != IntPtr.Zero, type.FullName);
            }
            Assert.Contains(types, t => t.Name == "NewPartitionOpsConnectionCommand");

            // Proof that the engine really is unavailable here.
            var target = types.Single(t => t.Name == "PartitionOpsConnection")
                .GetProperty("Target", BindingFlags.NonPublic | BindingFlags.Instance)!;
            Assert.ThrowsAny<Exception>(() => target.PropertyType);
        }
        finally
        {
            context.Unload();
        }
    }

    private sealed class NoEngineContext() : AssemblyLoadContext("PartitionOps.NoEngine", isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName assemblyName) =>
            assemblyName.Name == "PartitionOps.Engine"
                ? throw new FileNotFoundException("PartitionOps.Engine is not resolvable before OnImport")
                : null;
    }
}
