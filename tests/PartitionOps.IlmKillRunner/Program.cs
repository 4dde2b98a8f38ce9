using System.Globalization;
using PartitionOps.Engine.Ilm;
using PartitionOps.Engine.Ilm.Execution;
using PartitionOps.Engine.Ilm.Policy;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;

// Usage: PartitionOps.IlmKillRunner <policy file> <as-of yyyy-MM-dd> <statement point to stop before, 0-based, or -1>
// The connection string comes from PARTITIONOPS_CONNECTION (never on a command line, where ps shows it).
// Prints "STOPPED <n> <phase>[<index>]" once it waits before statement point n (the test then kills it), or
// "DONE <status> ..." per outcome when the run ends without stopping.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: PartitionOps.IlmKillRunner <policy file> <as-of> <stop-at>");
    return 2;
}
var connection = Environment.GetEnvironmentVariable("PARTITIONOPS_CONNECTION")
    ?? throw new InvalidOperationException("PARTITIONOPS_CONNECTION is not set");
var stopAt = int.Parse(args[2], CultureInfo.InvariantCulture);
var request = new IlmRunRequest(new DatabaseTarget(PostgreSqlProvider.Instance, connection), "sales")
{
    Policy = IlmPolicy.Load(args[0]),
    AsOf = DateOnly.ParseExact(args[1], "yyyy-MM-dd", CultureInfo.InvariantCulture),
};
var result = await new IlmService(hook: new StopHook(stopAt)).RunAsync(request);
foreach (var outcome in result.Outcomes)
    Console.WriteLine($"DONE {outcome.Status} {outcome.Action.Describe()} {outcome.Error}");
return 0;

/// <summary>
/// Counts the statement points of actions (the run lock's point has no action, as in the in-process fault hook) and
/// waits forever before point <c>stopAt</c>, holding whatever the run holds at that moment.
/// </summary>
internal sealed class StopHook(int stopAt) : IIlmStatementHook
{
    private int _seen;

    public async Task BeforeAsync(IlmStatementPoint point, CancellationToken ct)
    {
        if (point.Action is null) return;
        var at = _seen++;
        if (at != stopAt) return;
        Console.WriteLine($"STOPPED {at} {point.Phase}[{point.Index}]");
        Console.Out.Flush();
        await Task.Delay(Timeout.Infinite, ct);
    }
}
