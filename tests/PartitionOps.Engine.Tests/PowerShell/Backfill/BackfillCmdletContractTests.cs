using System.Management.Automation;
using System.Reflection;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Backfill;
using PartitionOps.PowerShell.Cmdlets;

namespace PartitionOps.Engine.Tests.PowerShell.Backfill;

/// <summary>What users, docs and runbooks rely on, beyond the conventions every cmdlet gets.</summary>
public class BackfillCmdletContractTests
{
    public static readonly string[] Names =
    [
        "Start-PartitionBackfill", "Undo-PartitionBackfill", "Stop-PartitionBackfill",
        "Get-BackfillProgress", "Test-BackfillIntegrity", "Test-BackfillPrerequisite",
    ];

    public static TheoryData<string> CmdletNames() => new(Names);

    private static CmdletInfo Info(string name) => ModuleFacts.Cmdlet(name);

    private static CmdletParameter Parameter(string cmdlet, string name) => Info(cmdlet).Parameters.Single(p => p.Name == name);

    [Fact]
    public void All_six_cmdlets_are_in_the_assembly() =>
        Assert.All(Names, n => Assert.Contains(ModuleFacts.Cmdlets, c => c.Name == n));

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Take_a_piped_connection_and_the_table_parameters(string name)
    {
        var info = Info(name);
        Assert.Equal("Connection", info.DefaultParameterSetName);
        Assert.True(Parameter(name, "Connection").FromPipelineByPropertyName);
        foreach (var p in new[] { "Profile", "Schema", "ControlSchema" })
            Assert.Equal(["__AllParameterSets"], Parameter(name, p).SetNames);
        // Position 0 is -SqlInstance's.
        Assert.DoesNotContain(info.Parameters.Where(p => p.Name != "SqlInstance"),
            p => p.ParameterAttributes.Any(a => CmdletParameter.Named<int?>(a, "Position") is not null and not int.MinValue));
    }

    [Theory]
    [InlineData("Start-PartitionBackfill")]
    [InlineData("Undo-PartitionBackfill")]
    [InlineData("Get-BackfillProgress")]
    [InlineData("Test-BackfillIntegrity")]
    [InlineData("Test-BackfillPrerequisite")]
    public void ResourceType_pipes_in_by_property_name(string name)
    {
        var p = Parameter(name, "ResourceType");
        Assert.Equal(typeof(string[]), p.Type);
        Assert.True(p.FromPipelineByPropertyName);
        Assert.Contains("TypeName", p.Aliases); // Get-BackfillProgress output pipes back in
    }

    [Fact]
    public void Stop_is_table_wide()
    {
        Assert.DoesNotContain(Info("Stop-PartitionBackfill").Parameters, p => p.Name == "ResourceType");
        Assert.Equal(typeof(SwitchParameter), Parameter("Stop-PartitionBackfill", "PassThru").Type);
    }

    [Theory]
    [InlineData("Start-PartitionBackfill", true)]
    [InlineData("Undo-PartitionBackfill", true)]
    [InlineData("Stop-PartitionBackfill", true)]
    [InlineData("Get-BackfillProgress", false)]
    [InlineData("Test-BackfillIntegrity", false)]
    [InlineData("Test-BackfillPrerequisite", false)]
    public void State_changing_ones_support_ShouldProcess(string name, bool expected) =>
        Assert.Equal(expected, Info(name).SupportsShouldProcess);

    [Fact]
    public void Undo_asks_by_default()
    {
        var attribute = typeof(UndoPartitionBackfillCommand).GetCustomAttributesData()
            .Single(a => a.AttributeType == typeof(CmdletAttribute));
        Assert.Equal(ConfirmImpact.High, (ConfirmImpact)CmdletParameter.Named<int>(attribute, "ConfirmImpact"));
    }

    [Fact]
    public void Run_parameters_have_the_documented_types()
    {
        var expected = new Dictionary<string, Type>
        {
            ["Profile"] = typeof(string), ["Schema"] = typeof(string), ["ControlSchema"] = typeof(string),
            ["ResourceType"] = typeof(string[]),
            ["BatchSize"] = typeof(int?), ["TargetBatchMilliseconds"] = typeof(int?), ["DelayMilliseconds"] = typeof(int?),
            ["Parallel"] = typeof(int?), ["MaxDuration"] = typeof(TimeSpan?), ["SkipIndexes"] = typeof(SwitchParameter),
            ["LockTimeoutMilliseconds"] = typeof(int?), ["ThrottleQuery"] = typeof(string), ["MaxReplicaLagSeconds"] = typeof(double?),
            ["MaxLogUsedPercent"] = typeof(double?), ["AllowOfflineIndexBuild"] = typeof(SwitchParameter), ["MaxDop"] = typeof(int?),
            ["DataCompression"] = typeof(string), ["IndexMaxDurationMinutes"] = typeof(int?),
            ["MaxBlockedSessions"] = typeof(double?), ["DisableThrottle"] = typeof(string[]),
        };
        foreach (var (name, type) in expected)
            Assert.True(Parameter("Start-PartitionBackfill", name).Type == type, $"-{name} should be {type}");
        Assert.Equal(typeof(SwitchParameter), Parameter("Get-BackfillProgress", "Exact").Type);
        Assert.Equal(typeof(SwitchParameter), Parameter("Get-BackfillProgress", "AsReport").Type);
    }

    [Fact]
    public void DataCompression_is_a_validate_set()
    {
        var set = typeof(StartPartitionBackfillCommand).GetProperty("DataCompression")!.GetCustomAttributesData()
            .Single(a => a.AttributeType == typeof(ValidateSetAttribute));
        var values = ((IEnumerable<CustomAttributeTypedArgument>)set.ConstructorArguments[0].Value!).Select(v => (string)v.Value!);
        Assert.Equal(["NONE", "ROW", "PAGE"], values);
        // The attribute needs constants; the engine's list is the one the mapping and the CLI check against.
        Assert.Equal(IndexBuildOptions.Compressions, values);
    }

    [Theory]
    [InlineData("Start-PartitionBackfill")]
    [InlineData("Undo-PartitionBackfill")]
    public void DisableThrottle_offers_exactly_the_engine_signals(string name)
    {
        var type = name == "Start-PartitionBackfill" ? typeof(StartPartitionBackfillCommand) : typeof(UndoPartitionBackfillCommand);
        var set = type.GetProperty("DisableThrottle")!.GetCustomAttributesData()
            .Single(a => a.AttributeType == typeof(ValidateSetAttribute));
        var values = ((IEnumerable<CustomAttributeTypedArgument>)set.ConstructorArguments[0].Value!).Select(v => (string)v.Value!);
        Assert.Equal(Enum.GetNames<PartitionOps.Engine.Backfill.ThrottleSignal>(), values);
    }

    [Fact]
    public void Output_types_are_the_engine_records()
    {
        Assert.Equal(["BackfillResult"], Info("Start-PartitionBackfill").OutputTypes.Select(t => t.Name));
        Assert.Equal(["BackfillResult"], Info("Undo-PartitionBackfill").OutputTypes.Select(t => t.Name));
        Assert.Equal(["TypeProgress", "BackfillProgressReport"], Info("Get-BackfillProgress").OutputTypes.Select(t => t.Name));
        Assert.Equal(["IntegrityReport"], Info("Test-BackfillIntegrity").OutputTypes.Select(t => t.Name));
        Assert.Equal(["PrerequisiteReport"], Info("Test-BackfillPrerequisite").OutputTypes.Select(t => t.Name));
        Assert.Equal(["BackfillProgressReport"], Info("Stop-PartitionBackfill").OutputTypes.Select(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Help_has_a_pipeline_example(string name)
    {
        var text = File.ReadAllText(Path.Combine(ModuleFacts.ModuleDirectory, "docs", name + ".md"));
        var examples = text[text.IndexOf("## EXAMPLES", StringComparison.Ordinal)..text.IndexOf("## PARAMETERS", StringComparison.Ordinal)];
        Assert.Matches(@"PS C:\\> .*\|\s*\S", examples);
    }

    [Fact]
    public void Prerequisite_view_marks_failed_warning_and_passed_checks_by_the_check_properties()
    {
        var formats = System.Xml.Linq.XDocument.Load(Path.Combine(ModuleFacts.ModuleDirectory, "PartitionOps.Format.ps1xml"));
        var view = formats.Descendants("View").Single(v => (string?)v.Element("Name") == "BackfillPrerequisiteReport");
        var line = (string)view.Descendants("ListItem").Single(i => (string?)i.Element("Label") == "Checks").Element("ScriptBlock")!;
        Assert.Contains("[FAIL]", line);
        Assert.Contains("[warn]", line);
        // The script block reads these members of each check: a rename would show every check blank.
        var members = System.Text.RegularExpressions.Regex.Matches(line, @"\$_\.(\w+)").Select(m => m.Groups[1].Value);
        foreach (var member in members.Where(m => m != "Checks").Distinct())
            Assert.True(typeof(PartitionOps.Engine.Backfill.PrerequisiteCheck).GetProperty(member) != null,
                $"PrerequisiteCheck has no {member}");
        Assert.Contains("$_.Warning", line);
    }

    [Fact]
    public void Format_views_call_static_methods_that_exist_and_cover_the_output_types()
    {
        var text = File.ReadAllText(Path.Combine(ModuleFacts.ModuleDirectory, "PartitionOps.Format.ps1xml"));
        var calls = System.Text.RegularExpressions.Regex.Matches(text, @"\[(PartitionOps\.[\w.]+)\]::(\w+)\(");
        Assert.NotEmpty(calls);
        foreach (System.Text.RegularExpressions.Match call in calls)
        {
            var type = ModuleFacts.CmdletAssembly.GetType(call.Groups[1].Value);
            Assert.True(type != null,
                $"{call.Groups[1].Value} is not in the cmdlet assembly (the format file runs in the default load context)");
            Assert.True(type!.GetMethod(call.Groups[2].Value, BindingFlags.Public | BindingFlags.Static, [typeof(double?)]) != null
                || type.GetMethod(call.Groups[2].Value, BindingFlags.Public | BindingFlags.Static, [typeof(TimeSpan?)]) != null,
                $"{call.Value}: no public static method taking one nullable argument");
        }
        foreach (var output in Names.SelectMany(n => Info(n).OutputTypes))
            Assert.Contains($"<TypeName>{output.FullName}</TypeName>", text);
    }
}
