using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

public sealed class NonStreamingTests
{
    [Fact]
    public async Task ChatCompletions_NotStreaming_ReturnsOneChatCompletion()
    {
        var backend = new ScriptedChatClient(["Hel", "lo"], TimeSpan.Zero) { FinishReason = ChatFinishReason.Length };
        await using var app = await TestApp.StartAsync(backend);

        var root = await PostAsync(app, "v1/chat/completions", Sse.ChatBody(stream: false));

        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("created").ValueKind);
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Hello", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(2, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task ChatCompletions_BackendThrows_Returns500InOpenAiShape()
    {
        var backend = new ScriptedChatClient(["a"], TimeSpan.Zero) { Failure = new InvalidOperationException("boom"), FailAfter = 0 };
        await using var app = await TestApp.StartAsync(backend);

        using var response = await app.Client.PostAsync("v1/chat/completions", new StringContent(Sse.ChatBody(stream: false), Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("server_error", document.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task ChatCompletions_Parameters_ReachTheBackendAsChatOptions()
    {
        var backend = new ScriptedChatClient(["a"], TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);
        const string body = """
            {"model":"test-model","stream":false,
             "messages":[
               {"role":"system","content":"Be brief."},
               {"role":"developer","content":"Really brief."},
               {"role":"user","name":"ann","content":[{"type":"text","text":"Look: "},{"type":"image_url","image_url":{"url":"https://example.invalid/cat.png"}}]},
               {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"cats\"}"}}]},
               {"role":"tool","tool_call_id":"call_1","content":"cats are cats"}],
             "temperature":0.7,"top_p":0.9,"max_tokens":50,"max_completion_tokens":40,"stop":"END","seed":42,
             "frequency_penalty":0.5,"presence_penalty":-0.5,"top_k":40,"min_p":0.05,"repetition_penalty":1.1,"stop_token_ids":[2]}
            """;

        await PostAsync(app, "v1/chat/completions", body);

        var options = backend.LastOptions!;
        Assert.Equal(0.7f, options.Temperature);
        Assert.Equal(0.9f, options.TopP);
        Assert.Equal(40, options.MaxOutputTokens);
        Assert.Equal(["END"], options.StopSequences!);
        Assert.Equal(42, options.Seed);
        Assert.Equal(0.5f, options.FrequencyPenalty);
        Assert.Equal(-0.5f, options.PresencePenalty);
        Assert.Equal(40, options.TopK);
        Assert.Equal("test-model", options.ModelId);
        Assert.Equal(0.05, options.AdditionalProperties!["min_p"]);
        Assert.Equal(1.1, options.AdditionalProperties["repetition_penalty"]);
        Assert.Equal([2], (int[])options.AdditionalProperties["stop_token_ids"]!);

        var messages = backend.LastMessages!;
        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool], messages.Select(m => m.Role));
        Assert.Equal("ann", messages[2].AuthorName);
        Assert.Equal("Look: ", Assert.IsType<TextContent>(messages[2].Contents[0]).Text);
        Assert.Equal(new Uri("https://example.invalid/cat.png"), Assert.IsType<UriContent>(messages[2].Contents[1]).Uri);
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(messages[3].Contents));
        Assert.Equal(("call_1", "lookup"), (call.CallId, call.Name));
        Assert.Equal("cats", ((JsonElement)call.Arguments!["q"]!).GetString());
        var result = Assert.IsType<FunctionResultContent>(Assert.Single(messages[4].Contents));
        Assert.Equal(("call_1", "cats are cats"), (result.CallId, result.Result as string));
    }

    [Fact]
    public async Task Completions_NotStreaming_ReturnsTextCompletion()
    {
        var backend = new ScriptedChatClient(["foo", "bar"], TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);

        var root = await PostAsync(app, "v1/completions", """{"model":"test-model","prompt":"Say"}""");

        Assert.Equal("text_completion", root.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("foobar", root.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", root.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(16, backend.LastOptions!.MaxOutputTokens); // OpenAI's default for completions
        Assert.Equal("Say", backend.LastMessages!.Single().Text);
    }

    [Fact]
    public async Task Completions_Streaming_SendsTextChunksThenDone()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["foo", "bar"], TimeSpan.Zero));

        var (_, events) = await Sse.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent("""{"model":"test-model","prompt":"Say","stream":true,"stream_options":{"include_usage":true}}""", Encoding.UTF8, "application/json"),
        });

        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.SkipLast(1).Select(e => e.Json()).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Equal("foobar", string.Concat(chunks.SkipLast(1).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(2, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Models_List_ReturnsRegisteredModels()
    {
        await using var app = await TestApp.StartAsync(builder => builder.Services.AddOpenAiStreaming()
                .AddChatModel("alpha", _ => new ScriptedChatClient([], TimeSpan.Zero))
                .AddChatModel("beta", _ => new ScriptedChatClient([], TimeSpan.Zero)),
            app => app.MapOpenAiStreaming());

        using var document = JsonDocument.Parse(await app.Client.GetStringAsync("v1/models", TestContext.Current.CancellationToken));
        var root = document.RootElement;

        Assert.Equal("list", root.GetProperty("object").GetString());
        Assert.Equal(["alpha", "beta"], root.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.All(root.GetProperty("data").EnumerateArray(), m => Assert.Equal("model", m.GetProperty("object").GetString()));
        using var one = JsonDocument.Parse(await app.Client.GetStringAsync("v1/models/beta", TestContext.Current.CancellationToken));
        Assert.Equal("beta", one.RootElement.GetProperty("id").GetString());
        using var missing = await app.Client.GetAsync("v1/models/gamma", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private static async Task<JsonElement> PostAsync(TestApp app, string path, string body)
    {
        using var response = await app.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }
}
