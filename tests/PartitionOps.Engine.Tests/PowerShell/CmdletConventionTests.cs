using System.Text.RegularExpressions;
using System.Xml.Linq;
using PartitionOps.PowerShell;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// Conventions every cmdlet in the built assembly must follow. They enumerate the assembly, so a
/// cmdlet added later is checked without touching this file.
/// </summary>
public class CmdletConventionTests
{
    private static readonly string[] ShouldProcessParameters = ["WhatIf", "Confirm"];

    [Fact]
    public void The_assembly_has_cmdlets() => Assert.Contains(ModuleFacts.Cmdlets, c => c.Name == "New-PartitionOpsConnection");

    [Fact]
    public void Every_verb_the_stub_knows_is_in_the_approved_list()
    {
        var fromStub = ApprovedVerbs.FromStub().ToList();
        Assert.NotEmpty(fromStub);
        Assert.DoesNotContain(fromStub, v => !ApprovedVerbs.All.Contains(v));
    }

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Uses_an_approved_verb(string name) =>
        Assert.True(ApprovedVerbs.All.Contains(ModuleFacts.Cmdlet(name).Verb),
            $"{name}: '{ModuleFacts.Cmdlet(name).Verb}' is not an approved verb (Get-Verb)");

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Uses_a_singular_pascal_case_noun(string name)
    {
        var noun = ModuleFacts.Cmdlet(name).Noun;
        Assert.Matches("^[A-Z][A-Za-z0-9]*$", noun);
        var lastWord = Regex.Matches(noun, "[A-Z][a-z0-9]*").Last().Value;
        Assert.True(NounRules.IsSingular(lastWord), $"{name}: the noun should be singular ('{lastWord}' looks plural)");
    }

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void State_changing_verbs_support_ShouldProcess(string name)
    {
        var cmdlet = ModuleFacts.Cmdlet(name);
        if (!ApprovedVerbs.StateChanging.Contains(cmdlet.Verb) || ApprovedVerbs.InMemoryCmdlets.Contains(name)) return;
        Assert.True(cmdlet.SupportsShouldProcess,
            $"{name} changes state: declare [Cmdlet(..., SupportsShouldProcess = true)] and call ShouldProcessPlan");
    }

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Declares_its_output_type(string name)
    {
        var cmdlet = ModuleFacts.Cmdlet(name);
        Assert.True(cmdlet.OutputTypes.Count > 0, $"{name}: add [OutputType(typeof(...))]");
        foreach (var type in cmdlet.OutputTypes)
            Assert.True(type.IsPublic || type.IsNestedPublic, $"{name}: output type {type} must be public so PowerShell can format it");
    }

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Database_cmdlets_derive_from_the_base_and_default_to_a_known_parameter_set(string name)
    {
        var cmdlet = ModuleFacts.Cmdlet(name);
        Assert.True(typeof(PartitionOpsCmdletBase).IsAssignableFrom(cmdlet.Type),
            $"{name}: derive from PartitionOpsCmdlet (or PartitionOpsCmdletBase)");
        var sets = cmdlet.Parameters.SelectMany(p => p.SetNames).Where(s => s != "__AllParameterSets").Distinct().ToList();
        if (sets.Count > 1)
            Assert.True(cmdlet.DefaultParameterSetName != null && sets.Contains(cmdlet.DefaultParameterSetName),
                $"{name}: DefaultParameterSetName '{cmdlet.DefaultParameterSetName}' is not one of {string.Join(", ", sets)}");
    }

    [Fact]
    public void Manifest_exports_exactly_the_cmdlets_of_the_assembly()
    {
        var text = File.ReadAllText(ModuleFacts.ManifestPath);
        var block = Regex.Match(text, @"CmdletsToExport\s*=\s*@\(([^)]*)\)", RegexOptions.Singleline);
        Assert.True(block.Success, "CmdletsToExport = @( ... ) not found in PartitionOps.psd1");
        var exported = Regex.Matches(block.Groups[1].Value, "'([^']+)'|\"([^\"]+)\"")
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).OrderBy(n => n).ToList();
        Assert.DoesNotContain(exported, n => n.Contains('*'));
        Assert.Equal(ModuleFacts.Cmdlets.Select(c => c.Name).OrderBy(n => n).ToList(), exported);
    }

    [Fact]
    public void Manifest_version_matches_PartitionOpsVersion()
    {
        var props = XDocument.Load(Path.Combine(ModuleFacts.RepoRoot, "Directory.Build.props"));
        var version = props.Descendants("PartitionOpsVersion").Single().Value.Trim();
        var manifest = File.ReadAllText(ModuleFacts.ManifestPath);
        Assert.Equal(version, Regex.Match(manifest, @"ModuleVersion\s*=\s*'([^']+)'").Groups[1].Value);
    }

    [Fact]
    public void Manifest_points_at_files_that_exist()
    {
        var manifest = File.ReadAllText(ModuleFacts.ManifestPath);
        Assert.Matches(@"RootModule\s*=\s*'module/bin/PartitionOps\.PowerShell\.dll'", manifest);
        foreach (Match m in Regex.Matches(manifest, @"'(module/[^']+\.ps1xml)'"))
            Assert.True(File.Exists(Path.Combine(ModuleFacts.RepoRoot, m.Groups[1].Value)), m.Groups[1].Value + " is missing");
        Assert.Matches(@"CompatiblePSEditions\s*=\s*@\('Core'\)", manifest);
        Assert.Matches(@"PowerShellVersion\s*=\s*'7\.4'", manifest);
    }

    [Theory]
    [InlineData("PartitionOps.Format.ps1xml", "ViewSelectedBy")]
    [InlineData("PartitionOps.Types.ps1xml", "Type")]
    public void Every_type_named_in_format_and_type_files_exists(string file, string container)
    {
        var doc = XDocument.Load(Path.Combine(ModuleFacts.ModuleDirectory, file));
        var names = container == "Type"
            ? doc.Root!.Elements("Type").Select(t => t.Element("Name")!.Value.Trim()).ToList()
            : doc.Descendants("ViewSelectedBy").Elements("TypeName").Select(t => t.Value.Trim()).ToList();
        Assert.NotEmpty(names);
        var assemblies = new[] { ModuleFacts.CmdletAssembly }
            .Concat(ModuleFacts.CmdletAssembly.GetReferencedAssemblies()
                .Where(a => a.Name!.StartsWith("PartitionOps.", StringComparison.Ordinal))
                .Select(System.Reflection.Assembly.Load))
            .ToList();
        foreach (var name in names)
            Assert.True(assemblies.Any(a => a.GetType(name) != null), $"{file} names {name}, which no PartitionOps assembly defines");
    }

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Has_help_markdown_for_the_cmdlet_and_every_parameter(string name)
    {
        var cmdlet = ModuleFacts.Cmdlet(name);
        var path = Path.Combine(ModuleFacts.ModuleDirectory, "docs", name + ".md");
        Assert.True(File.Exists(path), $"module/docs/{name}.md is missing (platyPS markdown: copy New-PartitionOpsConnection.md)");
        var text = File.ReadAllText(path);
        Assert.Contains("# " + name, text);
        foreach (var section in new[] { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "OUTPUTS" })
            Assert.True(Regex.IsMatch(text, $@"^## {section}\s*\r?\n\s*\S", RegexOptions.Multiline),
                $"{name}.md: section ## {section} is missing or empty");
        Assert.True(Regex.Matches(text, @"^### Example \d", RegexOptions.Multiline).Count >= 2, $"{name}.md: give at least two examples");

        var documented = Regex.Matches(text, @"^### -(\w+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
        var expected = cmdlet.Parameters.Select(p => p.Name).ToList();
        if (cmdlet.SupportsShouldProcess) expected.AddRange(ShouldProcessParameters);
        Assert.Empty(expected.Where(p => !documented.Contains(p)).Select(p => $"{name}.md lacks ### -{p}"));
        Assert.Empty(documented.Where(p => !expected.Contains(p)).Select(p => $"{name}.md documents -{p}, which the cmdlet does not have"));
    }

    [Theory]
    [MemberData(nameof(ModuleFacts.CmdletNames), MemberType = typeof(ModuleFacts))]
    public void Help_markdown_states_each_parameters_type_and_sets(string name)
    {
        var cmdlet = ModuleFacts.Cmdlet(name);
        var path = Path.Combine(ModuleFacts.ModuleDirectory, "docs", name + ".md");
        if (!File.Exists(path)) return; // reported by Has_help_markdown_for_the_cmdlet_and_every_parameter
        var text = File.ReadAllText(path);
        foreach (var parameter in cmdlet.Parameters)
        {
            var block = Regex.Match(text, $@"^### -{parameter.Name}\s*$(.*?)^```\s*$", RegexOptions.Multiline | RegexOptions.Singleline);
            if (!block.Success) continue; // reported by the test above
            var yaml = Regex.Match(text[block.Index..], @"```yaml(.*?)```", RegexOptions.Singleline).Groups[1].Value;
            var type = Regex.Match(yaml, @"^Type:\s*(.+?)\s*$", RegexOptions.Multiline).Groups[1].Value;
            var expectedType = Nullable.GetUnderlyingType(parameter.Type) ?? parameter.Type;
            Assert.True(ShortTypeName(type) == expectedType.Name,
                $"{name}.md: -{parameter.Name} is a {expectedType.Name}, the help says '{type}'");

            var sets = Regex.Match(yaml, @"^Parameter Sets:\s*(.+?)\s*$", RegexOptions.Multiline).Groups[1].Value;
            var documented = sets == "(All)" ? ["__AllParameterSets"] : sets.Split(',',
                StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).OrderBy(s => s).ToArray();
            Assert.True(parameter.SetNames.OrderBy(s => s).SequenceEqual(documented),
                $"{name}.md: -{parameter.Name} is in sets {string.Join(", ", parameter.SetNames)}, the help says '{sets}'");
        }
    }

    /// <summary>"System.Nullable`1[System.TimeSpan]" -> "TimeSpan", "System.String[]" -> "String[]".</summary>
    private static string ShortTypeName(string documented)
    {
        var nullable = Regex.Match(documented, @"^(?:System\.)?Nullable`1\[(.+)\]$");
        var type = nullable.Success ? nullable.Groups[1].Value : documented;
        return type[(type.LastIndexOf('.') + 1)..];
    }

    [Fact]
    public void The_connection_cmdlet_help_has_a_pipeline_example()
    {
        var text = File.ReadAllText(Path.Combine(ModuleFacts.ModuleDirectory, "docs", "New-PartitionOpsConnection.md"));
        var examples = text[text.IndexOf("## EXAMPLES", StringComparison.Ordinal)..text.IndexOf("## PARAMETERS", StringComparison.Ordinal)];
        Assert.Matches(@"PS C:\\> .*\|\s*\S", examples);
    }

    [Fact]
    public void The_cmdlet_assembly_does_not_reference_database_drivers()
    {
        // module/bin holds only this assembly: a direct reference to a driver would fail to load (or
        // load another module's copy) in the default context. Reach drivers through the engine.
        var references = ModuleFacts.CmdletAssembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, r => r.StartsWith("Npgsql", StringComparison.Ordinal)
            || r.StartsWith("Microsoft.Data.SqlClient", StringComparison.Ordinal) || r.StartsWith("Oracle.", StringComparison.Ordinal));
    }
}

public static class NounRules
{
    // Words ending in s that are singular (or uncountable) in cmdlet nouns.
    private static readonly HashSet<string> SingularS = new(StringComparer.Ordinal) { "Ops", "Status", "Alias", "Analysis", "Statistics",
        "Bus", "Process" };

    public static bool IsSingular(string word) =>
        !word.EndsWith('s') || word.EndsWith("ss", StringComparison.Ordinal) || word.EndsWith("us", StringComparison.Ordinal)
        || word.EndsWith("is", StringComparison.Ordinal) || SingularS.Contains(word);
}
