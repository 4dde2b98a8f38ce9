using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

public enum IlmFault
{
    /// <summary>The runner fails there (an exception in the runner): it rolls back and writes FAILED.</summary>
    Throw,
    /// <summary>
    /// The runner's backend is terminated there (pg_terminate_backend): as if the runner died, nothing written after.
    /// </summary>
    Terminate,
}

/// <summary>
/// A fault at every statement boundary of a merge and of a move, for both methods, on the real PostgreSQL: the runner
/// fails there, or its backend is terminated there. After each: every row in place (per-month counts and sums), bounds
/// contiguous, every index valid and readable (amcheck, forced index scans), the audit truthful (no SUCCESS that did not
/// happen), nothing of ours left behind once the next run started (capture triggers, functions and log tables included),
/// the application's writes into the partitions working after each fault, and the next run converging to the planned
/// layout.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmFaultInjectionTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const string AsOf = "2025-12-01";

    /// <summary>
    /// p_2023 (Jan-Oct, in HOT: its tier is WARM, so the merge also relocates it) and November 2023 merge into p_2023.
    /// </summary>
    private static async Task MergeSetupAsync(IlmTestDatabase db)
    {
        await db.AddPartitionAsync("p_2023", "2023-01-01", "2023-11-01", db.Hot);
        await db.AddMonthAsync(2023, 11, db.Hot);
        await db.AddMonthAsync(2025, 11, db.Hot);
    }

    /// <summary>p_2019 (in HOT) moves to COLD.</summary>
    private static async Task MoveSetupAsync(IlmTestDatabase db)
    {
        await db.AddPartitionAsync("p_2019", "2019-01-01", "2020-01-01", db.Hot);
        await db.AddMonthAsync(2025, 11, db.Hot);
    }

    private static IlmRunRequest Request(IlmTestDatabase db, MergeMethod method) =>
        new(db.Target, "sales") { Policy = db.Policy with { MergeMethod = method }, AsOf = DateOnly.Parse(AsOf) };

    /// <summary>
    /// keyed: the table has a primary key, so the rebuild captures changes (trigger, function, log table) instead of
    /// holding writers back with a SHARE lock; in_place is the same either way.
    /// </summary>
    [Theory]
    [InlineData("merge", MergeMethod.Rebuild, false, IlmFault.Throw)]
    [InlineData("merge", MergeMethod.Rebuild, false, IlmFault.Terminate)]
    [InlineData("merge", MergeMethod.Rebuild, true, IlmFault.Throw)]
    [InlineData("merge", MergeMethod.Rebuild, true, IlmFault.Terminate)]
    [InlineData("merge", MergeMethod.InPlace, false, IlmFault.Throw)]
    [InlineData("merge", MergeMethod.InPlace, false, IlmFault.Terminate)]
    [InlineData("move", MergeMethod.Rebuild, false, IlmFault.Throw)]
    [InlineData("move", MergeMethod.Rebuild, false, IlmFault.Terminate)]
    [InlineData("move", MergeMethod.Rebuild, true, IlmFault.Throw)]
    [InlineData("move", MergeMethod.Rebuild, true, IlmFault.Terminate)]
    [InlineData("move", MergeMethod.InPlace, false, IlmFault.Throw)]
    [InlineData("move", MergeMethod.InPlace, false, IlmFault.Terminate)]
    public async Task A_fault_at_any_statement_boundary_loses_nothing_corrupts_nothing_and_the_next_run_converges(
        string operation, MergeMethod method, bool keyed, IlmFault fault)
    {
        Func<IlmTestDatabase, Task> setup = async db =>
        {
            if (keyed) await db.ExecuteAsync("ALTER TABLE public.sales ADD PRIMARY KEY (id, sale_date)");
            await (operation == "merge" ? MergeSetupAsync(db) : MoveSetupAsync(db));
        };
        // The application writes into a partition the action works on after each fault, before the next run.
        var (written, day) = operation == "merge" ? ("2023-11", "2023-11-15") : ("2019-06", "2019-06-15");

        // A clean run first: the statement points to fault, and the layout every faulted table must converge to.
        var reference = await IlmTestDatabase.CreateAsync(postgres, output);
        if (reference is null) return;
        await setup(reference);
        var recorder = new RecordingHook();
        var clean = await new IlmService(hook: recorder).RunAsync(Request(reference, method));
        Assert.All(clean.Outcomes, o => Assert.Equal(IlmStatus.Success, o.Status));
        Assert.Contains(clean.Outcomes, o => operation == "merge" ? o.Action is MergeAction : o.Action is MoveAction);
        var converged = IlmInvariants.Shape(reference, await IlmInvariants.LayoutAsync(reference));
        output.WriteLine($"{recorder.Points.Count} statement points: " +
            string.Join(", ", recorder.Points.Select(p => $"{p.Phase}[{p.Index}]")));

        for (var at = 0; at < recorder.Points.Count; at++)
        {
            var db = (await IlmTestDatabase.CreateAsync(postgres, output))!;
            await setup(db);
            var months = await IlmInvariants.MonthsAsync(db);
            var before = await IlmInvariants.LayoutAsync(db);
            var coverage = IlmInvariants.Coverage(before.InBoundOrder());
            var hook = new FaultHook(at, async (point, pid) =>
            {
                if (fault == IlmFault.Throw)
                    throw new InvalidOperationException($"injected failure before {point.Phase}[{point.Index}]");
                await IlmInvariants.TerminateAsync(db, pid);
            });

            IlmRunResult? faulted = null;
            try { faulted = await new IlmService(hook: hook).RunAsync(Request(db, method)); }
            catch (Exception e) when (fault == IlmFault.Terminate)
            {
                output.WriteLine($"point {at}: the run ended with {e.GetType().Name}");
            }
            NpgsqlConnection.ClearAllPools();

            var point = hook.FiredAt ?? throw new InvalidOperationException($"point {at} was never reached");
            var context = $"{operation}/{method}/{(keyed ? "keyed" : "no key")}/{fault} before {point.Phase}[{point.Index}] " +
                IlmInvariants.Short(point.Statement.Text);
            await IlmInvariants.AssertIntactAsync(db, months, coverage, context);

            // Nothing took effect: every partition keeps its bounds (an in_place tablespace change may have committed on its own).
            var after = await IlmInvariants.LayoutAsync(db);
            Assert.True(IlmInvariants.Bounds(before).SequenceEqual(IlmInvariants.Bounds(after)),
                $"{context}: partition bounds changed although the action failed");
            // The audit says what happened: no SUCCESS for the failed action; FAILED when the runner lived to write it.
            var audit = await IlmInvariants.AuditAsync(db);
            Assert.DoesNotContain(audit, a => a.Status == IlmStatus.Success);
            var moves = await IlmInvariants.MoveLogAsync(db);
            if (point.Action is MoveAction faultedMove)
                Assert.DoesNotContain(moves, m => m.Partition == faultedMove.PartitionName && m.Status == IlmStatus.Success);
            if (fault == IlmFault.Throw)
            {
                Assert.NotNull(faulted);
                Assert.Contains(faulted!.Outcomes, o => o.Status == IlmStatus.Failed && o.Error!.Contains("injected failure"));
                Assert.DoesNotContain(audit, a => a.Status == IlmStatus.InProgress);
                await IlmInvariants.AssertNoLeftoversAsync(db, context);
            }

            // Whatever the fault left (a capture trigger included), the application's writes go on working.
            await db.ExecuteAsync($"INSERT INTO public.sales (id, sale_date, amount) VALUES (90000001, '{day}', 1)");
            months[written] = (months[written].Rows + 1, months[written].Sum + 1);

            // The next run reconciles what is left and converges.
            var next = await new IlmService().RunAsync(Request(db, method));
            Assert.All(next.Outcomes,
                o => Assert.True(o.Status == IlmStatus.Success, $"{context}: next run: {o.Action.Describe()} {o.Error}"));
            await IlmInvariants.AssertIntactAsync(db, months, coverage, context + " (next run)");
            await IlmInvariants.AssertNoLeftoversAsync(db, context + " (next run)");
            Assert.Equal(converged, IlmInvariants.Shape(db, await IlmInvariants.LayoutAsync(db)));
            var finalAudit = await IlmInvariants.AuditAsync(db);
            Assert.DoesNotContain(finalAudit, a => a.Status == IlmStatus.InProgress);
            foreach (var source in finalAudit.Select(a => a.Source).Distinct())
                Assert.Equal(IlmStatus.Success, finalAudit.Last(a => a.Source == source).Status);
            var again = await new IlmService().PlanAsync(new IlmPlanRequest
            {
                Target = db.Target, Table = "sales", Policy = db.Policy with { MergeMethod = method }, AsOf = DateOnly.Parse(AsOf),
            });
            Assert.False(again.Plan.HasWork, $"{context}: still work after the next run");
        }
    }
}
