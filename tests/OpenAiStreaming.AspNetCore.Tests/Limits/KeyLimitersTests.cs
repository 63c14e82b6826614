using Microsoft.AspNetCore.Http;
using OpenAiStreaming.AspNetCore.Limits;

namespace OpenAiStreaming.AspNetCore.Tests.Limits;

public sealed class KeyLimitersTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(17, "17ms")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(59_999, "59.999s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(90_250, "1m30.25s")]
    public void FormatDuration_AsOpenAiWritesIt(int milliseconds, string expected) =>
        Assert.Equal(expected, KeyLimiters.FormatDuration(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData(60, 60, 0)]
    [InlineData(60, 59, 1000)]
    [InlineData(60, 0, 60_000)]
    [InlineData(1000, 500, 30_000)]
    public void ResetAfter_IsTheTimeToRefillTheBucket(int limit, long remaining, int expectedMilliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), KeyLimiters.ResetAfter(limit, remaining));

    [Fact]
    public void TryAdmit_ConcurrencyRefused_TakesNoRequestFromTheBucket()
    {
        var limiters = new KeyLimiters(requestsPerMinute: 10, tokensPerMinute: null, maxConcurrentStreams: 1);
        Assert.Null(limiters.TryAdmit(out var first));

        Assert.Equal(KeyLimit.ConcurrentStreams, limiters.TryAdmit(out var second));
        Assert.Null(second);
        var headers = new HeaderDictionary();
        limiters.WriteHeaders(headers);
        Assert.Equal("9", headers["x-ratelimit-remaining-requests"]);

        first!.Dispose();
        Assert.Null(limiters.TryAdmit(out var third));
        third!.Dispose();
    }

    [Fact]
    public void Charge_MoreThanLeft_EmptiesTheBucketAndRefusesTheNext()
    {
        var limiters = new KeyLimiters(requestsPerMinute: null, tokensPerMinute: 10, maxConcurrentStreams: null);
        Assert.Null(limiters.TryAdmit(out _));

        limiters.Charge(5000);

        Assert.Equal(KeyLimit.Tokens, limiters.TryAdmit(out _));
        var headers = new HeaderDictionary();
        limiters.WriteHeaders(headers);
        Assert.Equal("10", headers["x-ratelimit-limit-tokens"]);
        Assert.False(headers.ContainsKey("x-ratelimit-limit-requests"));
    }
}
