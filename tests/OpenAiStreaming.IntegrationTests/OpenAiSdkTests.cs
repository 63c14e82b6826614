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

    [Fact]
    public async Task CompleteChatStreaming_SampleWithLogprobs_EveryTokenHasDescendingTopLogprobsAndUsage()
    {
        await using var app = await StartSampleAsync();
        var client = CreateClient(app, "tiny-char-lm");
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 3, MaxOutputTokenCount = 16 };

        var text = new StringBuilder();
        var tokens = new List<ChatTokenLogProbabilityDetails>();
        ChatFinishReason? finishReason = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("The pump")], options, TestContext.Current.CancellationToken))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            tokens.AddRange(update.ContentTokenLogProbabilities);
            finishReason ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(16, text.Length);
        Assert.Equal(text.ToString(), string.Concat(tokens.Select(t => t.Token)));
        Assert.All(tokens, token =>
        {
            Assert.True(token.LogProbability <= 0, $"logprob {token.LogProbability}");
            Assert.Equal(Encoding.UTF8.GetBytes(token.Token), token.Utf8Bytes!.Value.ToArray());
            Assert.Equal(3, token.TopLogProbabilities.Count);
            Assert.True(token.TopLogProbabilities.Zip(token.TopLogProbabilities.Skip(1)).All(p => p.First.LogProbability >= p.Second.LogProbability), "top_logprobs not in descending order");
            Assert.True(token.TopLogProbabilities[0].LogProbability >= token.LogProbability);
        });
        Assert.Equal(ChatFinishReason.Length, finishReason);
        Assert.Equal(16, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task CompleteChatStreaming_ParallelToolCalls_SdkAssemblesEachCallWithFinishToolCalls()
    {
        var backend = new WeatherToolChatClient();
        await using var app = await TestApp.StartAsync(backend);
        var client = CreateClient(app);
        var weather = ChatTool.CreateFunctionTool("get_weather", "The weather in a city.", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""));
        var options = new ChatCompletionOptions { Tools = { weather }, ToolChoice = ChatToolChoice.CreateAutoChoice() };

        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finishReason = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris and Oslo?")], options, TestContext.Current.CancellationToken))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is not null)
                {
                    ids[call.Index] = call.ToolCallId;
                }

                if (call.FunctionName is not null)
                {
                    names[call.Index] = call.FunctionName;
                }

                (arguments.TryGetValue(call.Index, out var built) ? built : arguments[call.Index] = new StringBuilder()).Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finishReason ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finishReason);
        Assert.Equal(["call_paris", "call_oslo"], ids.OrderBy(p => p.Key).Select(p => p.Value));
        Assert.All(names.Values, name => Assert.Equal("get_weather", name));
        Assert.Equal("""{"city":"Oslo"}""", arguments[1].ToString());
        var tool = Assert.IsAssignableFrom<Microsoft.Extensions.AI.AIFunctionDeclaration>(Assert.Single(backend.Calls[0]!.Tools!));
        Assert.Equal("get_weather", tool.Name);
        Assert.Equal(Microsoft.Extensions.AI.ChatToolMode.Auto, backend.Calls[0]!.ToolMode);
    }

    private static Task<TestApp> StartSampleAsync() =>
        TestApp.StartAsync(ChatServer.ChatServerApp.Create(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]));

    private static ChatClient CreateClient(TestApp app, string model = "test-model") =>
        new(model, new ApiKeyCredential("unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(app.BaseAddress, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        });
}
