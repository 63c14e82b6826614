#pragma warning disable OPENAI001 // the SDK marks its Responses client as evaluation-only
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI.Responses;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>The official OpenAI .NET SDK's Responses client against <c>/v1/responses</c>, retries off.</summary>
public sealed class ResponsesSdkTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateResponseStreaming_TextArrivesInOrderAndEndsCompleted()
    {
        var words = ScriptedChatClient.Words(20);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.FromMilliseconds(1)));
        var client = CreateClient(app);

        var text = new StringBuilder();
        var sequence = new List<int>();
        ResponseResult? completed = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem("Hello")]) { StreamingEnabled = true }, Ct))
        {
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal(string.Concat(words), text.ToString());
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.NotNull(completed);
        Assert.Equal(ResponseStatus.Completed, completed.Status);
        Assert.Equal(20, completed.Usage.OutputTokenCount);
        Assert.Equal(string.Concat(words), completed.GetOutputText());
    }

    [Fact]
    public async Task CreateResponse_Whole_OutputTextUsageAndRetrieveById()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["Hello", " back"], TimeSpan.Zero));
        var client = CreateClient(app);

        ResponseResult response = await client.CreateResponseAsync(new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem("Hello")])
        {
            Instructions = "Be kind.",
            MaxOutputTokenCount = 20,
        }, Ct);
        ResponseResult again = await client.GetResponseAsync(response.Id, Ct);

        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("Hello back", response.GetOutputText());
        Assert.Equal(2, response.Usage.OutputTokenCount);
        Assert.Equal(response.Id, again.Id);
        Assert.Equal("Hello back", again.GetOutputText());
    }

    [Fact]
    public async Task CreateResponseStreaming_FunctionTool_SdkParsesFunctionCallItem()
    {
        await using var app = await TestApp.StartAsync(new FunctionCallingChatClient());
        var client = CreateClient(app);
        var options = new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem("Weather in Paris?")]) { StreamingEnabled = true };
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""), strictModeEnabled: false));

        FunctionCallResponseItem? call = null;
        string? arguments = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(options, Ct))
        {
            if (update is StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem item })
            {
                call = item;
            }
            else if (update is StreamingResponseFunctionCallArgumentsDoneUpdate done)
            {
                arguments = done.FunctionArguments.ToString();
            }
        }

        Assert.NotNull(call);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("call_9", call.CallId);
        Assert.Equal("""{"city":"Paris"}""", call.FunctionArguments.ToString());
        Assert.Equal("""{"city":"Paris"}""", arguments);
    }

    [Fact]
    public async Task Background_ResumeStreamingAfterSequenceNumber_ThenCancelAnother()
    {
        var words = ScriptedChatClient.Words(30);
        var backend = new ScriptedChatClient(words, TimeSpan.FromMilliseconds(1));
        await using var app = await TestApp.StartAsync(backend);
        var client = CreateClient(app);

        ResponseResult queued = await client.CreateResponseAsync(new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem("Hello")])
        {
            BackgroundModeEnabled = true,
        }, Ct);
        var sequence = new List<int>();
        var text = new StringBuilder();
        await foreach (var update in await client.GetResponseStreamingAsync(new GetResponseOptions(queued.Id) { StartingAfter = 4, StreamingEnabled = true }, Ct))
        {
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
        }

        Assert.Equal(ResponseStatus.Queued, queued.Status);
        Assert.True(queued.BackgroundModeEnabled);
        Assert.Equal(Enumerable.Range(5, sequence.Count), sequence);
        Assert.EndsWith(string.Concat(words.Skip(5)), text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Background_CancelResponse_StatusCancelled()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(2));
        await using var app = await TestApp.StartAsync(backend);
        var client = CreateClient(app);
        ResponseResult queued = await client.CreateResponseAsync(new CreateResponseOptions("test-model", [ResponseItem.CreateUserMessageItem("Hello")])
        {
            BackgroundModeEnabled = true,
        }, Ct);
        await backend.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        ResponseResult cancelled = await client.CancelResponseAsync(queued.Id, Ct);

        Assert.Equal(ResponseStatus.Cancelled, cancelled.Status);
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    private static ResponsesClient CreateClient(TestApp app) =>
        new(new ApiKeyCredential("unused"), new ResponsesClientOptions
        {
            Endpoint = new Uri(app.BaseAddress, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        });

    /// <summary>Calls <c>get_weather</c> for Paris.</summary>
    private sealed class FunctionCallingChatClient : Microsoft.Extensions.AI.IChatClient
    {
        public Task<Microsoft.Extensions.AI.ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<Microsoft.Extensions.AI.ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            yield return new Microsoft.Extensions.AI.ChatResponseUpdate(Microsoft.Extensions.AI.ChatRole.Assistant,
                [new Microsoft.Extensions.AI.FunctionCallContent("call_9", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
