using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using PartitionOps.PowerShell.Cmdlets;
using PartitionOps.PowerShell.Connection;
using PartitionOps.PowerShell.Ilm;

namespace PartitionOps.Engine.Tests.PowerShell.Ilm;

/// <summary>What users, docs, runbooks and the pipeline rely on for the ILM cmdlets, beyond the conventions every cmdlet gets.</summary>
public class IlmCmdletContractTests
{
    public static readonly string[] Names =
    [
        "Get-IlmMergeCandidate", "Invoke-IlmPartitionMerge", "Invoke-IlmMaintenance", "Get-IlmMergeHistory",
        "Get-IlmPartitionSummary", "Test-IlmHealth", "Get-IlmConfig", "Set-IlmConfig",
    ];

    public static TheoryData<string> CmdletNames() => new(Names);

    private static CmdletInfo Info(string name) => ModuleFacts.Cmdlet(name);

    private static CmdletParameter Parameter(string cmdlet, string name) => Info(cmdlet).Parameters.Single(p => p.Name == name);

    private static ConfirmImpact Impact(Type type) => (ConfirmImpact)CmdletParameter.Named<int>(
        type.GetCustomAttributesData().Single(a => a.AttributeType == typeof(CmdletAttribute)), "ConfirmImpact");

    [Fact]
    public void All_eight_cmdlets_are_in_the_assembly() =>
        Assert.All(Names, n => Assert.Contains(ModuleFacts.Cmdlets, c => c.Name == n));

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Take_a_piped_connection_and_the_control_schema(string name)
    {
        var info = Info(name);
        Assert.Equal("Connection", info.DefaultParameterSetName);
        Assert.True(Parameter(name, "Connection").FromPipelineByPropertyName);
        Assert.Equal(["__AllParameterSets"], Parameter(name, "ControlSchema").SetNames);
        Assert.DoesNotContain(info.Parameters.Where(p => p.Name != "SqlInstance"),
            p => p.ParameterAttributes.Any(a => CmdletParameter.Named<int?>(a, "Position") is not null and not int.MinValue));
    }

    [Theory]
    [InlineData("Get-IlmMergeCandidate", true)]
    [InlineData("Invoke-IlmPartitionMerge", true)]
    [InlineData("Invoke-IlmMaintenance", true)]
    [InlineData("Get-IlmPartitionSummary", true)]
    [InlineData("Get-IlmMergeHistory", false)]
    [InlineData("Test-IlmHealth", false)]
    public void Table_and_Schema_pipe_in_by_property_name_from_a_csv(string name, bool mandatory)
    {
        var table = Parameter(name, "Table");
        Assert.Equal(typeof(string), table.Type);
        Assert.True(table.FromPipelineByPropertyName);
        Assert.Equal(mandatory, table.Mandatory("__AllParameterSets"));
        Assert.Contains("TableName", table.Aliases); // Get-IlmMergeHistory rows pipe back in
        Assert.True(Parameter(name, "Schema").FromPipelineByPropertyName);
        Assert.Contains("TableOwner", Parameter(name, "Schema").Aliases);
    }

    [Theory]
    [InlineData("Invoke-IlmPartitionMerge", true, ConfirmImpact.High)]
    [InlineData("Invoke-IlmMaintenance", true, ConfirmImpact.Medium)]
    [InlineData("Set-IlmConfig", true, ConfirmImpact.Medium)]
    [InlineData("Get-IlmMergeCandidate", false, ConfirmImpact.Medium)]
    [InlineData("Get-IlmMergeHistory", false, ConfirmImpact.Medium)]
    [InlineData("Get-IlmPartitionSummary", false, ConfirmImpact.Medium)]
    [InlineData("Test-IlmHealth", false, ConfirmImpact.Medium)]
    [InlineData("Get-IlmConfig", false, ConfirmImpact.Medium)]
    public void State_changing_ones_support_ShouldProcess(string name, bool expected, ConfirmImpact impact)
    {
        Assert.Equal(expected, Info(name).SupportsShouldProcess);
        if (expected) Assert.Equal(impact, Impact(Info(name).Type));
    }

    /// <summary>
    /// Get-IlmMergeCandidate | Invoke-IlmPartitionMerge: every parameter of Invoke-IlmPartitionMerge that binds by
    /// property name finds a candidate property of a type it accepts, except -Partition (manual mode), which a
    /// candidate must not carry.
    /// </summary>
    [Fact]
    public void Candidates_carry_what_Invoke_IlmPartitionMerge_binds_by_property_name()
    {
        var invoke = Info("Invoke-IlmPartitionMerge");
        var candidate = typeof(IlmMergeCandidate).GetProperties(BindingFlags.Public | BindingFlags.Instance).ToDictionary(p => p.Name);
        var byName = invoke.Parameters.Where(p => p.FromPipelineByPropertyName).ToList();
        Assert.Equal(["Action", "AsOf", "Connection", "ControlSchema", "Partition", "Policy", "Schema", "SourcePartition", "Table",
            "TargetPartition"],
            byName.Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
        foreach (var parameter in byName.Where(p => p.Name != "Partition"))
        {
            Assert.True(candidate.TryGetValue(parameter.Name, out var property), $"IlmMergeCandidate lacks {parameter.Name}");
            var target = Nullable.GetUnderlyingType(parameter.Type) ?? parameter.Type;
            Assert.True(target.IsAssignableFrom(property!.PropertyType),
                $"{parameter.Name}: {property.PropertyType} does not bind to {parameter.Type}");
        }
        foreach (var name in new[] { "Partition" }.Concat(Parameter("Invoke-IlmPartitionMerge", "Partition").Aliases))
            Assert.False(candidate.ContainsKey(name),
                $"a candidate must not carry {name}: it would switch Invoke-IlmPartitionMerge to the manual merge");
        Assert.Equal(typeof(PartitionOpsConnection), candidate["Connection"].PropertyType);
        // The Action values a candidate carries are the ValidateSet of -Action.
        var set = typeof(InvokeIlmPartitionMergeCommand).GetProperty("Action")!.GetCustomAttributesData()
            .Single(a => a.AttributeType == typeof(ValidateSetAttribute));
        var values = ((IEnumerable<CustomAttributeTypedArgument>)set.ConstructorArguments[0].Value!).Select(v => (string)v.Value!);
        Assert.Equal(Enum.GetNames<PartitionOps.Engine.Ilm.Planning.IlmActionKind>(), values);
    }

    [Fact]
    public void Common_ilm_parameters_have_the_documented_types()
    {
        foreach (var name in new[] { "Get-IlmMergeCandidate", "Invoke-IlmPartitionMerge", "Invoke-IlmMaintenance" })
        {
            Assert.Equal(typeof(object), Parameter(name, "AsOf").Type); // DateTime or YYYY-MM-DD
            Assert.Equal(typeof(string), Parameter(name, "Policy").Type);
        }
        Assert.Equal(typeof(int?), Parameter("Invoke-IlmMaintenance", "MaxMerges").Type);
        Assert.Equal(typeof(int?), Parameter("Invoke-IlmMaintenance", "LockTimeoutSeconds").Type);
        Assert.Equal(typeof(TimeSpan?), Parameter("Invoke-IlmMaintenance", "MaxDuration").Type);
        // The engine runs only the chosen actions: there is nothing left for a -Force to allow.
        Assert.DoesNotContain(Info("Invoke-IlmPartitionMerge").Parameters, p => p.Name == "Force");
        Assert.Equal(typeof(string[]), Parameter("Invoke-IlmPartitionMerge", "SourcePartition").Type);
        Assert.Equal(typeof(int?), Parameter("Get-IlmMergeHistory", "MaxRows").Type);
        foreach (var t in new[] { "WindowDays", "MaxWarmMonthlyPartitions", "FailedNotRetriedDays" })
            Assert.Equal(typeof(int?), Parameter("Test-IlmHealth", t).Type);
        foreach (var t in new[] { "MaxFailureRatePercent", "MaxMergeSeconds", "MaxWarmMonthlyPercent", "MinSuccessRatePercent",
            "MaxAverageMergeSeconds" })
            Assert.Equal(typeof(decimal?), Parameter("Test-IlmHealth", t).Type);
        Assert.True(Parameter("Set-IlmConfig", "Key").Mandatory("__AllParameterSets"));
        Assert.True(Parameter("Set-IlmConfig", "Value").FromPipelineByPropertyName); // Get-IlmConfig | ... | Set-IlmConfig
    }

    [Fact]
    public void Output_types()
    {
        Assert.Equal(["IlmMergeCandidate"], Info("Get-IlmMergeCandidate").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IlmActionResult"], Info("Invoke-IlmPartitionMerge").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IlmActionResult"], Info("Invoke-IlmMaintenance").OutputTypes.Select(t => t.Name));
        Assert.Equal(["MergeAuditRecord"], Info("Get-IlmMergeHistory").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IlmPartitionSummaryRow"], Info("Get-IlmPartitionSummary").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IlmHealthReport"], Info("Test-IlmHealth").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IlmConfigEntry"], Info("Get-IlmConfig").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IlmConfigEntry"], Info("Set-IlmConfig").OutputTypes.Select(t => t.Name));
    }

    [Fact]
    public void Output_objects_need_no_engine_enum_or_struct_to_load()
    {
        foreach (var type in new[] { typeof(IlmMergeCandidate), typeof(IlmActionResult), typeof(IlmPartitionSummaryRow) })
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public))
        {
            var t = Nullable.GetUnderlyingType(field.FieldType) ?? field.FieldType;
            Assert.False(t.Assembly.GetName().Name == "PartitionOps.Engine" && t.IsValueType,
                $"{type.Name}.{field.Name} is an engine value type");
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Help_has_a_pipeline_example(string name)
    {
        var text = File.ReadAllText(Path.Combine(ModuleFacts.ModuleDirectory, "docs", name + ".md"));
        var examples = text[text.IndexOf("## EXAMPLES", StringComparison.Ordinal)..text.IndexOf("## PARAMETERS", StringComparison.Ordinal)];
        Assert.Matches(@"PS C:\\> .*\|\s*\S", examples);
    }

    [Theory]
    [InlineData("Get-IlmMergeCandidate")]
    [InlineData("Invoke-IlmPartitionMerge")]
    public void Help_shows_candidates_piped_into_the_merge_with_WhatIf(string name)
    {
        var text = File.ReadAllText(Path.Combine(ModuleFacts.ModuleDirectory, "docs", name + ".md"));
        Assert.Contains("Get-IlmMergeCandidate -Table SALES | Invoke-IlmPartitionMerge -WhatIf", text);
    }

    [Fact]
    public void Format_views_cover_the_output_types()
    {
        var text = File.ReadAllText(Path.Combine(ModuleFacts.ModuleDirectory, "PartitionOps.Format.ps1xml"));
        foreach (var output in Names.SelectMany(n => Info(n).OutputTypes).Distinct())
            Assert.Contains($"<TypeName>{output.FullName}</TypeName>", text);
        Assert.Contains("<TypeName>PartitionOps.Engine.Ilm.Monitoring.IlmCheck</TypeName>", text);
    }

    [Fact]
    public void Manifest_release_notes_and_about_help_mention_the_ilm_cmdlets()
    {
        var about = File.ReadAllText(Path.Combine(ModuleFacts.RepoRoot, "en-US", "about_PartitionOps.help.txt"));
        Assert.All(Names, n => Assert.Contains(n, about));
        Assert.Matches(new Regex(@"(?m)^\s*ILM\s*$"), about);
    }
}
