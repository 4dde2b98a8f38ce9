using System.Data.Common;

namespace PartitionOps.Engine.Providers;

/// <summary>What everything that keeps control tables shares (backfill and ILM share the control schema).</summary>
public static class ControlTables
{
    /// <summary>
    /// The application lock that serializes creation of control tables in <paramref name="controlSchema"/>:
    /// every component that creates tables there takes it first, held to the end of its creating transaction.
    /// </summary>
    public static string CreationLock(string controlSchema) => $"partitionops.control.{controlSchema}";

    /// <summary>
    /// Runs idempotent creation statements in one transaction of their own. The dialects' statements take
    /// <see cref="CreationLock"/> first, so concurrent creators run one after the other; a creator that does not
    /// take it can still win the race, so a failed attempt is rolled back and tried again, and then finds what
    /// the other one created (a real error, e.g. a missing permission, fails again and is thrown).
    /// </summary>
    public static async Task CreateAsync(DbConnection connection, IDatabaseProvider provider, IReadOnlyList<SqlStatement> statements,
        CancellationToken ct, int attempts = 3)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            try
            {
                foreach (var statement in statements)
                    await connection.ExecuteAsync(provider, statement, ct, tx).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (DbException) when (attempt < attempts && !ct.IsCancellationRequested)
            {
                // The server may have ended the transaction already (SQL Server's XACT_ABORT does).
                try { await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (e is DbException or InvalidOperationException) { }
                await Task.Delay(RetryDelay(attempt), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>100 ms doubling, jittered by ±25%, so racing creators do not retry in step.</summary>
    private static TimeSpan RetryDelay(int attempt) =>
        TimeSpan.FromMilliseconds(100 * Math.Pow(2, attempt - 1) * (0.75 + Random.Shared.NextDouble() / 2));
}
