using ChatServer;
using OpenAiStreaming.LoadGenerator.Running;

namespace OpenAiStreaming.LoadGenerator.Tests;

/// <summary>The generator against the repository's real sample server, in process.</summary>
public sealed class ChatServerSampleTests
{
    [Fact]
    public async Task RunAsync_AgainstTheSample_NoErrorsAndSaneFigures()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await TestApp.StartAsync(
            ChatServerApp.Create(["--urls", "http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00.001", "--Logging:LogLevel:Default=Warning"]));
        using var runner = new LoadRunner(new LoadOptions { BaseUrl = new Uri(app.BaseAddress, "v1"), Concurrency = 4, Requests = 12, MaxTokens = 32 });

        var result = await runner.RunAsync(ct);

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
