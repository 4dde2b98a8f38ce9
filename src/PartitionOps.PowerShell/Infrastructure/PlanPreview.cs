using PartitionOps.Engine.Providers;

namespace PartitionOps.PowerShell.Infrastructure;

/// <summary>
/// What -WhatIf prints and -Confirm asks about for a plan: the thing it changes (a table; the connection is added
/// by the cmdlet), the SQL in order, and the summary lines above it.
/// </summary>
public sealed record PlanPreview(string Target, IReadOnlyList<SqlStatement> Statements, IReadOnlyList<string>? Summary = null);
