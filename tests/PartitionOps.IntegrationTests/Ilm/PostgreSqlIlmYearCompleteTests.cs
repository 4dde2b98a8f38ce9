using Npgsql;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Planning;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PartitionOps.IntegrationTests.Ilm;

/// <summary>
/// year_complete with move_before_merge: false on the real PostgreSQL, over a year's life: p_2022 complete in WARM, the
/// twelve months of 2023 in HOT, one run as each month comes due (2025-02-01 .. 2026-01-01). Nothing of 2023 is moved
/// while its year is incomplete (January only starts p_2023, metadata only); the last run merges the year once into
/// WARM. Every run leaves every row in place and every index readable; a fault in the year's merge loses nothing and
/// the next run converges.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgreSqlIlmYearCompleteTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private static async Task SetupAsync(IlmTestDatabase db)
    {
        await db.AddPartitionAsync("p_2022", "2022-01-01", "2023-01-01", db.Warm);
        for (var m = 1; m <= 12; m++) await db.AddMonthAsync(2023, m, db.Hot);
        await db.AddMonthAsync(2025, 11, db.Hot);
    }

    private static IlmRunRequest Request(IlmTestDatabase db, MergeMethod method, DateOnly asOf) => new(db.Target, "sales")
    {
        Policy = db.Policy with { Strategy = MergeStrategy.YearComplete, MoveBeforeMerge = false, MergeMethod = method },
        AsOf = asOf,
    };

    [Theory]
    [InlineData(MergeMethod.Rebuild, null)]
    [InlineData(MergeMethod.InPlace, null)]
    [InlineData(MergeMethod.Rebuild, IlmFault.Throw)]
    [InlineData(MergeMethod.Rebuild, IlmFault.Terminate)]
    public async Task The_year_waits_in_place_and_merges_once_into_its_tier(MergeMethod method, IlmFault? fault)
    {
        var db = await IlmTestDatabase.CreateAsync(postgres, output);
        if (db is null) return;
        await SetupAsync(db);
        var months = await IlmInvariants.MonthsAsync(db);
        var coverage = IlmInvariants.Coverage((await IlmInvariants.LayoutAsync(db)).InBoundOrder());

        for (var i = 0; i < 11; i++)
        {
            var asOf = new DateOnly(2025, 2, 1).AddMonths(i);
            var run = await new IlmService().RunAsync(Request(db, method, asOf));
            Assert.All(run.Outcomes, o => Assert.Equal(IlmStatus.Success, o.Status));
            Assert.DoesNotContain(run.Outcomes, o => o.Action is MoveAction or MergeAction);
            await IlmInvariants.AssertIntactAsync(db, months, coverage, $"as of {asOf}");
            // Nothing of 2023 has left HOT yet: January became p_2023 where it was.
            var parts = await db.PartitionsAsync();
            Assert.All(parts.Where(p => p.Key.StartsWith("p_2023", StringComparison.Ordinal)),
                p => Assert.Equal(db.Hot, p.Value.Tablespace));
            Assert.True(parts.ContainsKey("p_2023"), $"as of {asOf}: January did not start p_2023");
        }

        // The year is due: one merge of p_2023 (January) and February..December into WARM, optionally faulted first.
        var yearDue = new DateOnly(2026, 1, 1);
        if (fault is { } f)
        {
            var hook = new FaultHook(2, async (point, pid) =>
            {
                if (f == IlmFault.Throw) throw new InvalidOperationException($"injected failure before {point.Phase}[{point.Index}]");
                await IlmInvariants.TerminateAsync(db, pid);
            });
            try { await new IlmService(hook: hook).RunAsync(Request(db, method, yearDue)); }
            catch (Exception e) when (f == IlmFault.Terminate) { output.WriteLine($"the faulted run ended with {e.GetType().Name}"); }
            NpgsqlConnection.ClearAllPools();
            Assert.NotNull(hook.FiredAt);
            Assert.IsType<MergeAction>(hook.FiredAt!.Action);
            await IlmInvariants.AssertIntactAsync(db, months, coverage, $"{f} before {hook.FiredAt.Phase}[{hook.FiredAt.Index}]");
            Assert.DoesNotContain(await IlmInvariants.AuditAsync(db), a => a.Status == IlmStatus.Success);
        }
        var last = await new IlmService().RunAsync(Request(db, method, yearDue));
        Assert.All(last.Outcomes, o => Assert.True(o.Status == IlmStatus.Success, $"{o.Action.Describe()}: {o.Error}"));
        var merge = Assert.IsType<MergeAction>(Assert.Single(last.Outcomes, o => o.Action is MergeAction or MoveAction).Action);
        Assert.Equal(["p_2023", .. Enumerable.Range(2, 11).Select(m => $"p_2023_{m:D2}")], merge.Sources);
        await IlmInvariants.AssertIntactAsync(db, months, coverage, "after the year's merge");
        await IlmInvariants.AssertNoLeftoversAsync(db, "after the year's merge");

        var after = await db.PartitionsAsync();
        Assert.Equal(db.Warm, after["p_2023"].Tablespace);
        Assert.DoesNotContain(after.Keys, k => k.StartsWith("p_2023_", StringComparison.Ordinal));
        Assert.Equal(IlmTestDatabase.DaysRows("2023-01-01", "2024-01-01"),
            await db.ScalarAsync<long>("SELECT count(*) FROM public.p_2023"));
        var again = await new IlmService().RunAsync(Request(db, method, yearDue));
        Assert.DoesNotContain(again.Outcomes, o => o.Action is MoveAction or MergeAction or RenameAction);
    }
}
