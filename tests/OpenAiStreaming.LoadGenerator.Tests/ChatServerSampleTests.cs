using ChatServer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.LoadGenerator.Running;

namespace OpenAiStreaming.LoadGenerator.Tests;

/// <summary>The generator against the repository's real sample server, in process.</summary>
public sealed class ChatServerSampleTests
{
    [Fact]
    public async Task RunAsync_AgainstTheSample_NoErrorsAndSaneFigures()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ChatServerApp.Create(["--urls", "http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00.001", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync(ct);
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var runner = new LoadRunner(new LoadOptions { BaseUrl = new Uri(address + "/v1"), Concurrency = 4, Requests = 12, MaxTokens = 32 });

        var result = await runner.RunAsync(ct);
        await app.StopAsync(ct);

        Assert.Equal(0, result.Errors);
        Assert.Equal("tiny-char-lm", result.Model);
        Assert.Equal(12, result.RequestsOk);
        Assert.InRange(result.Tokens, 12, 12 * 32);
        Assert.InRange(result.Events, 12, result.Tokens);
        Assert.Equal(12, result.TtftMs.Count);
        Assert.True(result.TtftMs.Min > 0);
        Assert.True(result.E2eMs.Min >= result.TtftMs.Min);
        Assert.True(result.TokensPerS > 0);
        Assert.Null(result.ServerJson);
        Assert.Null(result.CancelMs);
    }
}
