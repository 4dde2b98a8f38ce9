using System.Management.Automation;

namespace PartitionOps.PowerShell.Ilm;

/// <summary>
/// An ILM cmdlet that plans one table per pipeline record: the table (bound by property name, so
/// candidates and CSV rows pipe in), its schema, the policy file and the as-of date.
/// </summary>
public abstract class IlmTableCmdlet : IlmCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("TableName")]
    public string? Table { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TableOwner")]
    public string? Schema { get; set; }

    /// <summary>Path of a policy file (the spec's tier_config JSON); default: the spec's tiers.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Policy { get; set; }

    /// <summary>The date to plan for: a DateTime or YYYY-MM-DD; default today (UTC).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public object? AsOf { get; set; }

    protected override string? PolicyParameter => Policy;

    protected internal override IlmParameters GetParameters() => base.GetParameters() with
    {
        Table = Table,
        Schema = Schema,
        AsOf = Unwrap(AsOf),
    };
}
