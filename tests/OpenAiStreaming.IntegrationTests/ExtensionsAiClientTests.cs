using System.ClientModel;
using System.ClientModel.Primitives;
using System.ComponentModel;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Microsoft.Extensions.AI over our endpoint: <c>Microsoft.Extensions.AI.OpenAI</c>'s chat client (the OpenAI SDK
/// underneath) inside a <see cref="FunctionInvokingChatClient"/>, as an app that consumes an OpenAI-compatible server
/// would compose it.
/// </summary>
public sealed class ExtensionsAiClientTests
{
    [Fact]
    public async Task FunctionInvokingClient_Streaming_ToolCallRoundTripToFinalAnswer()
    {
        var backend = new WeatherToolChatClient();
        await using var app = await TestApp.StartAsync(backend);
        var invoked = new List<string>();
        using IChatClient client = new ChatClientBuilder(CreateClient(app))
            .UseFunctionInvocation()
            .Build();
        var options = new ChatOptions
        {
            Tools = [AIFunctionFactory.Create(([Description("The city")] string city) =>
            {
                lock (invoked)
                {
                    invoked.Add(city);
                }

                return city == "Paris" ? "sunny" : "snow";
            }, "get_weather", "The weather in a city.")],
        };

        var text = new StringBuilder();
        ChatFinishReason? finishReason = null;
        UsageDetails? usage = null;
        await foreach (var update in client.GetStreamingResponseAsync("Weather in Paris and Oslo?", options, TestContext.Current.CancellationToken))
        {
            text.Append(update.Text);
            finishReason = update.FinishReason ?? finishReason;
            usage = update.Contents.OfType<UsageContent>().LastOrDefault()?.Details ?? usage;
        }

        Assert.Equal(["Oslo", "Paris"], invoked.Order());
        // The client sends each result JSON-serialized as the tool message's content; the model quotes it as it came.
        Assert.Equal("Forecast: call_paris=\"sunny\"; call_oslo=\"snow\".", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.True(usage?.OutputTokenCount > 0, "no usage reached the client");

        // The second request carried the assistant's calls and the tools' results back: the model saw both.
        Assert.Equal(2, backend.Calls.Count);
        Assert.All(backend.Calls, o => Assert.Equal("get_weather", Assert.Single(o!.Tools!).Name));
    }

    private static IChatClient CreateClient(TestApp app) =>
        new OpenAI.Chat.ChatClient("test-model", new ApiKeyCredential("unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(app.BaseAddress, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        }).AsIChatClient();
}
