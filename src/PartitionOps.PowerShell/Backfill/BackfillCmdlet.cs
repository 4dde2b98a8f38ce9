using System.Management.Automation;
using PartitionOps.Engine;
using PartitionOps.Engine.Backfill;
using PartitionOps.PowerShell.Connection;

namespace PartitionOps.PowerShell.Backfill;

/// <summary>
/// Base of the backfill cmdlets: -Profile, -Schema, -ControlSchema, and the pipeline rule. Records are
/// collected in ProcessRecord and worked in EndProcessing, one engine call per connection: piped rows
/// that only carry a ResourceType (Import-Csv types.csv) form one run over all their types, while piped
/// connections each get their own call.
/// </summary>
public abstract class BackfillCmdlet : PartitionOpsCmdlet
{
    private readonly List<Batch> _batches = [];
    private string? _profilePath;

    /// <summary>"fhir" (default) or the path of a JSON profile naming another table, columns and types.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Profile { get; set; }

    /// <summary>Schema of the table; default: the profile's, else dbo (SQL Server) / public (PostgreSQL).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Schema { get; set; }

    /// <summary>Schema of PartitionOps' control tables; default partitionops.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ControlSchema { get; set; }

    /// <summary>The resource types of the current pipeline record (none for table-wide cmdlets).</summary>
    protected virtual IEnumerable<string>? RecordResourceTypes => null;

    /// <summary>
    /// Parameters of this invocation, host-free; <paramref name="resourceTypes"/> null: the -ResourceType given.
    /// </summary>
    protected internal virtual BackfillParameters GetParameters(IReadOnlyList<string>? resourceTypes = null) => new()
    {
        Profile = _profilePath ?? Profile,
        Schema = Schema,
        ControlSchema = ControlSchema,
        ResourceType = resourceTypes ?? BackfillMapping.ResourceTypes(RecordResourceTypes),
    };

    /// <summary>The scope (table, profile, types) on the current connection.</summary>
    protected BackfillScope CreateScope(IReadOnlyList<string> resourceTypes) =>
        BackfillMapping.ToScope(Target, GetParameters(resourceTypes));

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        // A relative profile path is relative to PowerShell's location, not the process's directory. The built-in
        // names are not paths: resolved, "fhir-prototype" became a file that does not exist.
        if (!string.IsNullOrWhiteSpace(Profile) && !Profile.Equals(BackfillProfile.Fhir.Name, StringComparison.OrdinalIgnoreCase)
            && !Profile.Equals(BackfillProfile.FhirPrototype.Name, StringComparison.OrdinalIgnoreCase))
            _profilePath = GetUnresolvedProviderPathFromPSPath(Profile);
    }

    protected override void ProcessRecord()
    {
        var piped = Connection;
        var connection = RunSync(ErrorTarget, _ => ResolveConnection());
        if (connection is null) return;
        var last = _batches.Count > 0 ? _batches[^1] : null;
        if (last is null || !ReferenceEquals(last.Connection, connection))
            _batches.Add(last = new Batch(connection, piped != null));
        last.ResourceTypes.AddRange(RecordResourceTypes?.Where(t => t != null) ?? []);
    }

    protected override void EndProcessing()
    {
        foreach (var batch in _batches)
        {
            if (CancellationToken.IsCancellationRequested) break;
            // Target, Secrets and the error classifier follow the connection of this batch.
            if (batch.FromConnectionParameter) Connection = batch.Connection;
            ProcessBackfill(BackfillMapping.ResourceTypes(batch.ResourceTypes));
        }
    }

    /// <summary>
    /// Does the work for one connection; <paramref name="resourceTypes"/> empty: all of the profile's system types.
    /// </summary>
    protected abstract void ProcessBackfill(IReadOnlyList<string> resourceTypes);

    /// <summary>Bad-input errors name the cmdlet parameters (-BatchSize, not --batch-size).</summary>
    protected override InvalidRequestException TranslateError(InvalidRequestException e) => BackfillMapping.Translate(e);

    private sealed class Batch(PartitionOpsConnection connection, bool fromConnectionParameter)
    {
        public PartitionOpsConnection Connection { get; } = connection;
        public bool FromConnectionParameter { get; } = fromConnectionParameter;
        public List<string> ResourceTypes { get; } = [];
    }
}
