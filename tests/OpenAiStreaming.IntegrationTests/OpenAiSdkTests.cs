using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>The official OpenAI .NET SDK as the client, retries off so every failure shows.</summary>
public sealed class OpenAiSdkTests
{
    [Fact]
    public async Task CompleteChatStreaming_PacedBackend_GetsTextIntactWithStopAndUsage()
    {
        var words = ScriptedChatClient.Words(30);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.FromMilliseconds(2)));
        var client = CreateClient(app);

        var text = new StringBuilder();
        ChatFinishReason? finishReason = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hello")], cancellationToken: TestContext.Current.CancellationToken))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finishReason ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(string.Concat(words), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.NotNull(usage); // the SDK always asks for include_usage
        Assert.Equal(30, usage.OutputTokenCount);
        Assert.True(updates > 2);
    }

    [Fact]
    public async Task CompleteChatStreaming_HeartbeatsBetweenTokens_SdkIgnoresThem()
    {
        var backend = new ScriptedChatClient(["slow", " tokens"], TimeSpan.FromMilliseconds(250));
        await using var app = await TestApp.StartAsync(backend, o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(50));
        var client = CreateClient(app);

        var text = new StringBuilder();
        ChatFinishReason? finishReason = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hello")], cancellationToken: TestContext.Current.CancellationToken))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finishReason ??= update.FinishReason;
        }

        Assert.Equal("slow tokens", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
    }

    [Fact]
    public async Task CompleteChat_NotStreaming_GetsCompletion()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["Hi", " there"], TimeSpan.Zero));
        var client = CreateClient(app);

        ChatCompletion completion = await client.CompleteChatAsync([new SystemChatMessage("Be nice."), new UserChatMessage("Hello")], cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("Hi there", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
    }

    [Fact]
    public async Task CompleteChatStreaming_BackendFailsMidStream_SdkRaises()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(20), TimeSpan.Zero) { Failure = new InvalidOperationException("boom"), FailAfter = 5 };
        await using var app = await TestApp.StartAsync(backend);
        var client = CreateClient(app);

        var text = new StringBuilder();
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hello")], cancellationToken: TestContext.Current.CancellationToken))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }
        });

        Assert.NotNull(failure); // a truncated answer never comes back as complete
        Assert.Equal("w0 w1 w2 w3 w4 ", text.ToString());
    }

    [Fact]
    public async Task CompleteChat_UnknownModel_RaisesWith404()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["a"], TimeSpan.Zero));
        var client = CreateClient(app, model: "missing");

        var failure = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("Hello")], cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(404, failure.Status);
        Assert.Contains("missing", failure.Message, StringComparison.Ordinal);
    }

    private static ChatClient CreateClient(TestApp app, string model = "test-model") =>
        new(model, new ApiKeyCredential("unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(app.BaseAddress, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        });
}
