// Builds the module's MAML help (the XML Get-Help reads for binary cmdlets) from the platyPS-style markdown in
// module/docs. platyPS is not in our package feed, so this small MSBuild inline task does its one job: the
// markdown's sections (SYNOPSIS, SYNTAX set names, DESCRIPTION, EXAMPLES, PARAMETERS with their yaml blocks,
// INPUTS, OUTPUTS, NOTES, RELATED LINKS) become the MAML elements of the same names.
// MAML schema: https://learn.microsoft.com/powershell/scripting/developer/help/writing-help-for-windows-powershell-cmdlets
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class BuildMamlHelp : Task
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    /// <summary>The cmdlet markdown files (one per cmdlet).</summary>
    [Required]
    public ITaskItem[] Markdown { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The MAML file to write, e.g. en-US/PartitionOps.PowerShell.dll-Help.xml.</summary>
    [Required]
    public string OutputFile { get; set; } = "";

    public override bool Execute()
    {
        var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"));
        foreach (var item in Markdown.OrderBy(i => i.ItemSpec, StringComparer.Ordinal))
        {
            try
            {
                root.Add(ToCommand(File.ReadAllLines(item.ItemSpec)));
            }
            catch (FormatException e)
            {
                Log.LogError(null, null, null, item.ItemSpec, 0, 0, 0, 0, e.Message);
            }
        }
        if (Log.HasLoggedErrors) return false;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(OutputFile))!);
        var text = new XDocument(new XDeclaration("1.0", "utf-8", null), root).Declaration + Environment.NewLine + root;
        // Unchanged help is not rewritten, so incremental builds stay incremental.
        if (!File.Exists(OutputFile) || File.ReadAllText(OutputFile) != text) File.WriteAllText(OutputFile, text);
        return true;
    }

    private static XElement ToCommand(string[] lines)
    {
        var body = SkipFrontMatter(lines);
        var name = body.FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal))?.Substring(2).Trim()
            ?? throw new FormatException("no '# <cmdlet name>' heading");
        var sections = Split(body, "## ");
        string[] Section(string heading) => sections.TryGetValue(heading, out var s) ? s : Array.Empty<string>();

        var synopsis = string.Join(" ", Paragraphs(Section("SYNOPSIS")));
        if (synopsis.Length == 0) throw new FormatException($"{name}: empty SYNOPSIS");
        var setNames = Split(Section("SYNTAX"), "### ").Keys
            .Select(k => Regex.Replace(k, @"\s*\(Default\)$", "")).ToList();
        var parameters = Split(Section("PARAMETERS"), "### ")
            .Where(p => p.Key.StartsWith("-", StringComparison.Ordinal))
            .Select(p => Parameter.Parse(p.Key.Substring(1), p.Value)).ToList();
        var dash = name.IndexOf('-');

        var command = new XElement(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XElement(Command + "details",
                new XElement(Command + "name", name),
                new XElement(Command + "verb", dash > 0 ? name.Substring(0, dash) : name),
                new XElement(Command + "noun", dash > 0 ? name.Substring(dash + 1) : ""),
                Description(new[] { synopsis })),
            Description(Paragraphs(Section("DESCRIPTION"))));

        var syntax = new XElement(Command + "syntax");
        foreach (var set in setNames.Count > 0 ? setNames : new List<string> { "(All)" })
        {
            var inSet = parameters.Where(p => p.InSet(set))
                .OrderBy(p => p.Position ?? int.MaxValue).ThenBy(p => p.Required ? 0 : 1).ToList();
            syntax.Add(new XElement(Command + "syntaxItem", new XElement(Maml + "name", name),
                inSet.Select(p => p.ToMaml(forSyntax: true))));
        }
        command.Add(syntax);
        command.Add(new XElement(Command + "parameters", parameters.Select(p => p.ToMaml(forSyntax: false))));
        command.Add(new XElement(Command + "inputTypes", Split(Section("INPUTS"), "### ").Select(t =>
            new XElement(Command + "inputType", TypeElement(t.Key), Description(Paragraphs(t.Value))))));
        command.Add(new XElement(Command + "returnValues", Split(Section("OUTPUTS"), "### ").Select(t =>
            new XElement(Command + "returnValue", TypeElement(t.Key), Description(Paragraphs(t.Value))))));
        var notes = Paragraphs(Section("NOTES"));
        if (notes.Count > 0) command.Add(new XElement(Maml + "alertSet", new XElement(Maml + "alert", notes.Select(Para))));

        var examples = Split(Section("EXAMPLES"), "### ");
        if (examples.Count == 0) throw new FormatException($"{name}: no example");
        command.Add(new XElement(Command + "examples", examples.Select(e => Example(e.Key, e.Value))));
        command.Add(new XElement(Command + "relatedLinks", Section("RELATED LINKS")
            .Select(l => Regex.Match(l, @"^\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)"))
            .Where(m => m.Success)
            .Select(m => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", m.Groups["text"].Value),
                // A local file name is no URI: Get-Help -Online would try to open it.
                new XElement(Maml + "uri",
                    m.Groups["uri"].Value.StartsWith("http", StringComparison.Ordinal) ? m.Groups["uri"].Value : "")))));
        return command;
    }

    private static XElement Example(string title, string[] lines)
    {
        var code = new List<string>();
        var remarks = new List<string>();
        var inCode = false;
        var codeDone = false;
        foreach (var line in lines)
        {
            if (!codeDone && line.StartsWith("```", StringComparison.Ordinal))
            {
                if (inCode) codeDone = true;
                inCode = !inCode;
                continue;
            }
            (inCode ? code : remarks).Add(line);
        }
        // Get-Help prints the prompt itself when the code has none; the docs write it for readers of the markdown.
        return new XElement(Command + "example",
            new XElement(Maml + "title", $"-------------------------- {title} --------------------------"),
            new XElement(Dev + "code", string.Join("\n", code).Trim('\n')),
            new XElement(Dev + "remarks", Paragraphs(remarks.ToArray()).Select(Para)));
    }

    private static XElement TypeElement(string name) =>
        new XElement(Dev + "type", new XElement(Maml + "name", name.Trim()), new XElement(Maml + "uri"));

    private static XElement Description(IEnumerable<string> paragraphs) =>
        new XElement(Maml + "description", paragraphs.Select(Para));

    private static XElement Para(string text) => new XElement(Maml + "para", text);

    private static string[] SkipFrontMatter(string[] lines)
    {
        if (lines.Length == 0 || lines[0].Trim() != "---") return lines;
        var end = Array.FindIndex(lines, 1, l => l.Trim() == "---");
        return end < 0 ? lines : lines.Skip(end + 1).ToArray();
    }

    /// <summary>Headings with the given prefix and the lines under each, in order; fenced blocks are not headings.</summary>
    private static Dictionary<string, string[]> Split(string[] lines, string prefix)
    {
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? current = null;
        var buffer = new List<string>();
        var fenced = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) fenced = !fenced;
            if (!fenced && line.StartsWith(prefix, StringComparison.Ordinal))
            {
                if (current != null) result[current] = buffer.ToArray();
                current = line.Substring(prefix.Length).Trim();
                buffer.Clear();
                continue;
            }
            if (current != null) buffer.Add(line);
        }
        if (current != null) result[current] = buffer.ToArray();
        return result;
    }

    /// <summary>
    /// Paragraphs: wrapped lines joined, list items kept apart, fenced code kept line by line. Stops at a yaml block
    /// (a parameter's metadata, read separately).
    /// </summary>
    private static List<string> Paragraphs(string[] lines)
    {
        var result = new List<string>();
        var current = new List<string>();
        void Flush()
        {
            if (current.Count > 0) result.Add(string.Join(" ", current).Replace("`", ""));
            current.Clear();
        }
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```yaml", StringComparison.Ordinal)) break;
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush();
                var code = new List<string>();
                for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++) code.Add(lines[i]);
                result.Add(string.Join("\n", code));
                continue;
            }
            var trimmed = line.Trim();
            if (trimmed.Length == 0) { Flush(); continue; }
            if (Regex.IsMatch(trimmed, @"^([-*]|\d+\.)\s")) Flush();
            current.Add(trimmed);
        }
        Flush();
        return result;
    }

    private sealed class Parameter
    {
        public string Name = "";
        public List<string> Description = new();
        public string Type = "Object";
        public List<string> Sets = new();
        public string Aliases = "";
        public bool Required;
        public int? Position;
        public string Default = "None";
        public string Pipeline = "False";
        public bool Globbing;
        public List<string> AcceptedValues = new();

        public bool InSet(string set) => set == "(All)" || Sets.Contains("(All)") || Sets.Contains(set);

        public static Parameter Parse(string name, string[] lines)
        {
            var p = new Parameter { Name = name, Description = Paragraphs(lines) };
            var yamlStart = Array.FindIndex(lines, l => l.StartsWith("```yaml", StringComparison.Ordinal));
            if (yamlStart < 0) throw new FormatException($"-{name}: no yaml block");
            foreach (var line in lines.Skip(yamlStart + 1).TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal)))
            {
                var colon = line.IndexOf(':');
                if (colon < 0) continue;
                var key = line.Substring(0, colon).Trim();
                var value = line.Substring(colon + 1).Trim();
                switch (key)
                {
                    case "Type": p.Type = value; break;
                    case "Parameter Sets": p.Sets = value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList(); break;
                    case "Aliases": p.Aliases = value; break;
                    case "Required": p.Required = value.StartsWith("True", StringComparison.OrdinalIgnoreCase); break;
                    case "Position": p.Position = int.TryParse(value, out var n) ? n : null; break;
                    case "Default value": p.Default = value; break;
                    case "Accept pipeline input": p.Pipeline = value; break;
                    case "Accept wildcard characters": p.Globbing = value.StartsWith("True", StringComparison.OrdinalIgnoreCase); break;
                    case "Accepted values": p.AcceptedValues = value.Split(',').Select(s => s.Trim()).ToList(); break;
                }
            }
            if (p.Description.Count == 0) throw new FormatException($"-{name}: no description");
            return p;
        }

        public XElement ToMaml(bool forSyntax)
        {
            var isSwitch = Type == "SwitchParameter";
            var element = new XElement(Command + "parameter",
                new XAttribute("required", Required ? "true" : "false"),
                new XAttribute("variableLength", Type.EndsWith("[]", StringComparison.Ordinal) ? "true" : "false"),
                new XAttribute("globbing", Globbing ? "true" : "false"),
                new XAttribute("pipelineInput", Pipeline),
                new XAttribute("position", Position?.ToString() ?? "named"),
                new XAttribute("aliases", Aliases.Length > 0 ? Aliases : "none"),
                new XElement(Maml + "name", Name),
                BuildMamlHelp.Description(Description));
            if (forSyntax && AcceptedValues.Count > 0)
            {
                element.Add(new XElement(Command + "parameterValueGroup", AcceptedValues.Select(v =>
                    new XElement(Command + "parameterValue", new XAttribute("required", "false"),
                        new XAttribute("variableLength", "false"), v))));
            }
            else if (!isSwitch || !forSyntax)
            {
                element.Add(new XElement(Command + "parameterValue",
                    new XAttribute("required", isSwitch ? "false" : "true"), new XAttribute("variableLength", "false"), Type));
            }
            element.Add(new XElement(Dev + "type", new XElement(Maml + "name", Type), new XElement(Maml + "uri")));
            element.Add(new XElement(Dev + "defaultValue", Default));
            return element;
        }
    }
}
