using System.Management.Automation;
using System.Reflection;

namespace PartitionOps.Engine.Tests.PowerShell;

/// <summary>
/// PowerShell 7.4's approved verbs (Get-Verb), hard-coded because the 5.1 stub lacks the newer ones
/// (Build, Deploy, ...). A test checks that every verb the stub's Verbs* classes define is in this list.
/// </summary>
public static class ApprovedVerbs
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        // VerbsCommon
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move",
        "New", "Open", "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select",
        "Set", "Show", "Skip", "Split", "Step", "Switch", "Undo", "Unlock", "Watch",
        // VerbsCommunications
        "Connect", "Disconnect", "Read", "Receive", "Send", "Write",
        // VerbsData
        "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount", "Edit",
        "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out", "Publish", "Restore",
        "Save", "Sync", "Unpublish", "Update",
        // VerbsDiagnostic
        "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace",
        // VerbsLifecycle
        "Approve", "Assert", "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke",
        "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend", "Uninstall", "Unregister", "Wait",
        // VerbsSecurity
        "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect",
        // VerbsOther
        "Use",
    };

    /// <summary>
    /// Verbs that change a database (or the system), so the cmdlet must support -WhatIf/-Confirm.
    /// New is included: a New- cmdlet that only builds an in-memory object is listed in <see cref="InMemoryCmdlets"/>.
    /// </summary>
    public static readonly IReadOnlySet<string> StateChanging = new HashSet<string>(StringComparer.Ordinal)
    {
        "Add", "Clear", "Copy", "Move", "New", "Remove", "Rename", "Reset", "Set", "Undo", "Redo",
        "Merge", "Restore", "Sync", "Update", "Initialize", "Import", "Publish", "Unpublish", "Compress", "Expand",
        "Repair", "Enable", "Disable", "Install", "Uninstall", "Invoke", "Register", "Unregister",
        "Restart", "Resume", "Start", "Stop", "Suspend", "Submit", "Complete", "Grant", "Revoke", "Block", "Unblock",
    };

    /// <summary>New- cmdlets that build an object and touch no database: no ShouldProcess needed.</summary>
    public static readonly IReadOnlySet<string> InMemoryCmdlets = new HashSet<string>(StringComparer.Ordinal)
    {
        "New-PartitionOpsConnection",
    };

    public static IEnumerable<string> FromStub() =>
        new[] { typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsLifecycle), typeof(VerbsDiagnostic),
                typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);
}
