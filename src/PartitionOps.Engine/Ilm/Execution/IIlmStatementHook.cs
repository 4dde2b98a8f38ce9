using System.Data.Common;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Providers;

namespace PartitionOps.Engine.Ilm.Execution;

/// <summary>
/// A point in a run where a statement is about to be sent: <see cref="Phase"/> names the script part (checks, prepare,
/// lock, merge, swap-lock, swap, retry, statement for a plain action; run-lock before the run takes its table lock,
/// with <see cref="Action"/> null and <see cref="Statement"/> the lock statement).
/// </summary>
public sealed record IlmStatementPoint(IlmAction? Action, string Phase, int Index, SqlStatement Statement, DbConnection Connection);

/// <summary>
/// Called before every statement a run sends (fault injection: tests throw, terminate the backend or take locks here).
/// Production runs have none.
/// </summary>
public interface IIlmStatementHook
{
    Task BeforeAsync(IlmStatementPoint point, CancellationToken ct);
}
