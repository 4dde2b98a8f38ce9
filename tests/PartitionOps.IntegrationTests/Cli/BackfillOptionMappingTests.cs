using System.CommandLine;
using PartitionOps.Cli.Commands;
using PartitionOps.Engine.Backfill;
using PartitionOps.Engine.Providers;
using PartitionOps.Engine.Providers.PostgreSql;

namespace PartitionOps.IntegrationTests.Cli;

/// <summary>Run options -> the engine request, without a database.</summary>
public sealed class BackfillOptionMappingTests
{
    private static readonly BackfillRequest Defaults = new()
    {
        Scope = new BackfillScope { Target = new DatabaseTarget(PostgreSqlProvider.Instance, "Host=localhost") },
    };

    private static (BackfillRequest? Request, ParseResult Parse) Map(params string[] args)
    {
        var command = new Command("start");
        var options = BackfillCommands.RunOptions.AddTo(command);
        var parse = command.Parse(args);
        return (parse.Errors.Count == 0 ? options.Apply(parse, Defaults) : null, parse);
    }

    [Fact]
    public void Throttle_limits_not_given_keep_the_engine_defaults()
    {
        var (request, _) = Map();
        Assert.Equal(new ThrottleOptions(), request!.Throttle);
    }

    [Fact]
    public void Off_switches_a_limit_off_and_numbers_keep_their_meaning()
    {
        var (request, _) = Map("--max-replica-lag", "off", "--max-log-used", "70", "--max-blocked-sessions", "OFF");
        Assert.Null(request!.Throttle.MaxReplicaLagSeconds);
        Assert.Equal(70, request.Throttle.MaxLogUsedPercent);
        Assert.Null(request.Throttle.MaxBlockedSessions);

        var (zero, _) = Map("--max-blocked-sessions", "0", "--max-replica-lag", "0");
        Assert.Equal(0, zero!.Throttle.MaxBlockedSessions);
        Assert.Equal(0, zero.Throttle.MaxReplicaLagSeconds);
        Assert.Equal(80, zero.Throttle.MaxLogUsedPercent);
    }

    [Fact]
    public void A_word_other_than_off_is_a_usage_error_naming_the_option_and_value()
    {
        var (request, parse) = Map("--max-replica-lag", "never");
        Assert.Null(request);
        Assert.Contains(parse.Errors, e => e.Message == "--max-replica-lag 'never' is not a number or 'off'");
    }
}
