using System.Management.Automation;
using System.Reflection;
using PartitionOps.PowerShell.Cmdlets;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// What the convention tests know about the module: the repository's files and the cmdlets in the
/// built assembly. Attributes are read as CustomAttributeData because the PowerShellStandard stub's
/// attribute properties return defaults at run time; the constructor and named arguments are real.
/// </summary>
public static class ModuleFacts
{
    public static Assembly CmdletAssembly => typeof(NewPartitionOpsConnectionCommand).Assembly;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ModuleDirectory => Path.Combine(RepoRoot, "module");

    public static string ModuleBin => Path.Combine(ModuleDirectory, "bin");

    public static string DependencyDirectory => Path.Combine(ModuleBin, "dependencies");

    public static string ManifestPath => Path.Combine(RepoRoot, "PartitionOps.psd1");

    public static IReadOnlyList<CmdletInfo> Cmdlets { get; } = CmdletAssembly.GetExportedTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Cmdlet).IsAssignableFrom(t))
        .Select(CmdletInfo.From)
        .Where(c => c != null)
        .Select(c => c!)
        .OrderBy(c => c.Name)
        .ToList();

    /// <summary>xunit data: one row per cmdlet, so a new cmdlet gets its own failing line.</summary>
    public static TheoryData<string> CmdletNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cmdlets) data.Add(c.Name);
        return data;
    }

    public static CmdletInfo Cmdlet(string name) => Cmdlets.Single(c => c.Name == name);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PartitionOps.psd1")) && File.Exists(Path.Combine(dir.FullName, "PartitionOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("PartitionOps.psd1 not found above " + AppContext.BaseDirectory);
    }
}

public sealed record CmdletParameter(string Name, Type Type, IReadOnlyList<CustomAttributeData> ParameterAttributes,
    IReadOnlyList<string> Aliases)
{
    public IEnumerable<string> SetNames => ParameterAttributes.Select(a => Named<string>(a, "ParameterSetName") ?? "__AllParameterSets");

    public bool Mandatory(string set) =>
        ParameterAttributes.Any(a => (Named<string>(a, "ParameterSetName") ?? "__AllParameterSets") == set && Named<bool>(a, "Mandatory"));

    public bool FromPipelineByPropertyName => ParameterAttributes.Any(a => Named<bool>(a, "ValueFromPipelineByPropertyName"));

    public static T? Named<T>(CustomAttributeData data, string name)
    {
        foreach (var arg in data.NamedArguments)
            if (arg.MemberName == name) return (T?)arg.TypedValue.Value;
        return default;
    }
}

public sealed record CmdletInfo(Type Type, string Verb, string Noun, bool SupportsShouldProcess, string? DefaultParameterSetName,
    IReadOnlyList<Type> OutputTypes, IReadOnlyList<CmdletParameter> Parameters)
{
    public string Name => $"{Verb}-{Noun}";

    public static CmdletInfo? From(Type type)
    {
        var cmdlet = type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(CmdletAttribute));
        if (cmdlet == null) return null;
        var outputs = type.GetCustomAttributesData()
            .Where(a => a.AttributeType == typeof(OutputTypeAttribute))
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : [arg.Value])
            .OfType<Type>()
            .ToList();
        var parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => new
            {
                Property = p,
                Attributes = p.GetCustomAttributesData().Where(a => a.AttributeType == typeof(ParameterAttribute)).ToList(),
                Aliases = p.GetCustomAttributesData().Where(a => a.AttributeType == typeof(AliasAttribute))
                    .SelectMany(a => a.ConstructorArguments)
                    .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m =>
                        (string)m.Value!) : [(string)arg.Value!])
                    .ToList(),
            })
            .Where(p => p.Attributes.Count > 0)
            .Select(p => new CmdletParameter(p.Property.Name, p.Property.PropertyType, p.Attributes, p.Aliases))
            .OrderBy(p => p.Name)
            .ToList();
        return new CmdletInfo(
            type,
            (string)cmdlet.ConstructorArguments[0].Value!,
            (string)cmdlet.ConstructorArguments[1].Value!,
            CmdletParameter.Named<bool>(cmdlet, "SupportsShouldProcess"),
            CmdletParameter.Named<string>(cmdlet, "DefaultParameterSetName"),
            outputs,
            parameters);
    }
}
