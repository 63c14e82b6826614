using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore.Limits;

namespace OpenAiStreaming.AspNetCore.Tests.Limits;

public sealed class KestrelLimitsSetupTests
{
    [Fact]
    public void PostConfigure_KestrelDefaults_ReplacedByOurs()
    {
        var kestrel = new KestrelServerOptions();

        new KestrelLimitsSetup(Options.Create(new KestrelLimitOptions())).PostConfigure(null, kestrel);

        Assert.Equal(TimeSpan.FromSeconds(10), kestrel.Limits.RequestHeadersTimeout);
        Assert.Equal(1024, kestrel.Limits.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(5), kestrel.Limits.MinRequestBodyDataRate.GracePeriod);
        Assert.Equal(32 * 1024, kestrel.Limits.MaxRequestHeadersTotalSize);
        Assert.Equal(8 * 1024, kestrel.Limits.MaxRequestLineSize);
    }

    [Fact]
    public void PostConfigure_HostSetALimit_HostsValueKept()
    {
        var kestrel = new KestrelServerOptions();
        kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(3);
        kestrel.Limits.MinRequestBodyDataRate = null;
        kestrel.Limits.MaxRequestLineSize = 1000;

        new KestrelLimitsSetup(Options.Create(new KestrelLimitOptions { MaxRequestHeadersTotalSize = 16 * 1024 })).PostConfigure(null, kestrel);

        Assert.Equal(TimeSpan.FromSeconds(3), kestrel.Limits.RequestHeadersTimeout);
        Assert.Null(kestrel.Limits.MinRequestBodyDataRate);
        Assert.Equal(1000, kestrel.Limits.MaxRequestLineSize);
        Assert.Equal(16 * 1024, kestrel.Limits.MaxRequestHeadersTotalSize);
    }

    [Fact]
    public void PostConfigure_Disabled_KestrelUntouched()
    {
        var kestrel = new KestrelServerOptions();

        new KestrelLimitsSetup(Options.Create(new KestrelLimitOptions { Enabled = false })).PostConfigure(null, kestrel);

        Assert.Equal(TimeSpan.FromSeconds(30), kestrel.Limits.RequestHeadersTimeout);
        Assert.Equal(240, kestrel.Limits.MinRequestBodyDataRate!.BytesPerSecond);
    }
}
