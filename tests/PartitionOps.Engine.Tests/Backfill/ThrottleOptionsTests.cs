using PartitionOps.Engine.Backfill;

namespace PartitionOps.Engine.Tests.Backfill;

public sealed class ThrottleOptionsTests
{
    [Theory]
    [InlineData("off", null)]
    [InlineData("OFF", null)]
    [InlineData(" Off ", null)]
    [InlineData("0", 0.0)]
    [InlineData("12.5", 12.5)]
    public void A_limit_is_a_number_or_off(string text, double? expected) =>
        Assert.Equal(expected, ThrottleOptions.ParseLimit("--max-replica-lag", text));

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("NaN")]
    [InlineData("1e999")]
    public void Anything_else_is_invalid_input_naming_the_option_and_value(string text)
    {
        var e = Assert.Throws<InvalidRequestException>(() => ThrottleOptions.ParseLimit("--max-replica-lag", text));
        Assert.Equal("--max-replica-lag", e.Parameter);
        Assert.Equal(text, e.Value);
        Assert.Contains("not a number or 'off'", e.Message);
    }

    [Fact]
    public void Without_switches_off_one_limit_and_keeps_the_others()
    {
        var defaults = new ThrottleOptions();
        Assert.Equal(defaults with { MaxReplicaLagSeconds = null }, defaults.Without(ThrottleSignal.ReplicaLag));
        Assert.Equal(defaults with { MaxLogUsedPercent = null }, defaults.Without(ThrottleSignal.LogUsed));
        Assert.Equal(defaults with { MaxBlockedSessions = null }, defaults.Without(ThrottleSignal.BlockedSessions));
        Assert.False(defaults.AllOff);
        var off = defaults.Without(ThrottleSignal.ReplicaLag).Without(ThrottleSignal.LogUsed).Without(ThrottleSignal.BlockedSessions);
        Assert.True(off.AllOff);
        Assert.False((off with { CustomQuery = "SELECT 0" }).AllOff);
        off.Validate(); // off is valid
    }

    [Fact]
    public void Zero_stays_a_limit_and_negative_limits_name_the_option()
    {
        Assert.Equal(0, new ThrottleOptions().MaxBlockedSessions);
        var e = Assert.Throws<InvalidRequestException>(() => new ThrottleOptions { MaxBlockedSessions = -1 }.Validate());
        Assert.Equal("MaxBlockedSessions", e.Parameter);
    }
}
