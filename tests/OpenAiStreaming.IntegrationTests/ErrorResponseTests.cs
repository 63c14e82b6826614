using System.Net;
using System.Text;
using System.Text.Json;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

public sealed class ErrorResponseTests : IAsyncLifetime
{
    private TestApp _app = null!;
    private ScriptedChatClient _backend = null!;

    public async ValueTask InitializeAsync()
    {
        _backend = new ScriptedChatClient(["ok"], TimeSpan.Zero);
        _app = await TestApp.StartAsync(_backend, o =>
        {
            o.MaxRequestBodySize = 64 * 1024;
            o.ApiKeys = ["secret-key"];
        });
        _app.Client.DefaultRequestHeaders.Authorization = new("Bearer", "secret-key");
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"test-model"}""", "messages")]
    [InlineData("""{"model":"test-model","messages":[]}""", "messages")]
    [InlineData("""{"model":"test-model","messages":"hi"}""", "messages")]
    [InlineData("""{"model":"test-model","messages":[{"content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"test-model","messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":42}]}""", "messages[0].content")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":[{"type":"video"}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":[{"type":"text"}]}]}""", "messages[0].content[0].text")]
    [InlineData("""{"model":"test-model","messages":[{"role":"tool","content":"42"}]}""", "messages[0].tool_call_id")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"temperature":3}""", "temperature")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"top_p":0}""", "top_p")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"top_p":1.5}""", "top_p")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}""", "max_tokens")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-1}""", "max_completion_tokens")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stop":7}""", "stop")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"seed":"x"}""", "seed")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"frequency_penalty":2.5}""", "frequency_penalty")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"presence_penalty":-3}""", "presence_penalty")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"top_k":-2}""", "top_k")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"min_p":1.1}""", "min_p")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"repetition_penalty":0}""", "repetition_penalty")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"n":9}""", "n")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "stream_options")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":1}}""", "stream_options.include_usage")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"logprobs":true}""", "logprobs")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"top_logprobs":2}""", "top_logprobs")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a b"}}]}""", "tools[0].function.name")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"tools":{}}""", "tools")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}""", "tool_choice")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"tool_choice":7}""", "tool_choice")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}""", "response_format.type")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"logit_bias":{"abc":1}}""", "logit_bias")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":"x"}}""", "logit_bias.1")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"continuous_usage_stats":"y"}}""", "stream_options.continuous_usage_stats")]
    [InlineData("""{"model":"test-model","messages":[{"role":"user","content":"hi"}],"include_stop_str_in_output":1}""", "include_stop_str_in_output")]
    public async Task ChatCompletions_InvalidField_Returns400NamingIt(string body, string param)
    {
        var error = await PostAsync("v1/chat/completions", body, HttpStatusCode.BadRequest);

        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.False(_backend.Started.Task.IsCompleted);
    }

    [Theory]
    [InlineData("""{"model":"test-model"}""", "prompt")]
    [InlineData("""{"model":"test-model","prompt":[1,2,3]}""", "prompt")]
    [InlineData("""{"model":"test-model","prompt":["a","b"]}""", "prompt")]
    [InlineData("""{"model":"test-model","prompt":"a","echo":true}""", "echo")]
    [InlineData("""{"model":"test-model","prompt":"a","max_tokens":-5}""", "max_tokens")]
    [InlineData("""{"model":"test-model","prompt":"a","logprobs":2}""", "logprobs")]
    [InlineData("""{"model":"test-model","prompt":"a","logprobs":true}""", "logprobs")]
    [InlineData("""{"model":"test-model","prompt":"a","logprobs":21}""", "logprobs")]
    public async Task Completions_InvalidField_Returns400NamingIt(string body, string param)
    {
        var error = await PostAsync("v1/completions", body, HttpStatusCode.BadRequest);

        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2]")]
    [InlineData("")]
    [InlineData("""{"model":"test-model"} trailing""")]
    public async Task ChatCompletions_MalformedBody_Returns400(string body)
    {
        var error = await PostAsync("v1/chat/completions", body, HttpStatusCode.BadRequest);

        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task ChatCompletions_UnknownModel_Returns404ForModel()
    {
        var error = await PostAsync("v1/chat/completions", Sse.ChatBody(model: "nope"), HttpStatusCode.NotFound);

        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletions_UnknownFields_AreIgnored()
    {
        using var response = await _app.Client.PostAsync(
            "v1/chat/completions", Json(Sse.ChatBody(stream: false, extra: ",\"metadata\":{\"a\":1},\"future_field\":[true]")), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ChatCompletions_BodyOverLimit_Returns413()
    {
        string big = Sse.ChatBody(extra: $",\"user\":\"{new string('x', 70 * 1024)}\"");

        var error = await PostAsync("v1/chat/completions", big, HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletions_ChunkedBodyOverLimit_Returns413()
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(Sse.ChatBody(extra: $",\"user\":\"{new string('x', 70 * 1024)}\""))));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await AssertErrorShapeAsync(response);
    }

    [Fact]
    public async Task ChatCompletions_WrongContentType_Returns415()
    {
        using var content = new StringContent(Sse.ChatBody(), Encoding.UTF8, "text/plain");
        using var response = await _app.Client.PostAsync("v1/chat/completions", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertErrorShapeAsync(response);
    }

    [Theory]
    [InlineData("GET", "v1/chat/completions", "POST")]
    [InlineData("PUT", "v1/completions", "POST")]
    [InlineData("DELETE", "v1/models", "GET")]
    public async Task Endpoint_WrongMethod_Returns405WithAllow(string method, string path, string allowed)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allowed, string.Join(",", response.Content.Headers.Allow));
        await AssertErrorShapeAsync(response);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("Basic c2VjcmV0LWtleQ==")]
    public async Task ChatCompletions_MissingOrWrongApiKey_Returns401(string? authorization)
    {
        using var request = Sse.ChatRequest(Sse.ChatBody());
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var client = new HttpClient { BaseAddress = _app.BaseAddress };
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await AssertErrorShapeAsync(response);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task<JsonElement> PostAsync(string path, string body, HttpStatusCode expected)
    {
        using var response = await _app.Client.PostAsync(path, Json(body), TestContext.Current.CancellationToken);
        Assert.Equal(expected, response.StatusCode);
        return await AssertErrorShapeAsync(response);
    }

    private static async Task<JsonElement> AssertErrorShapeAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var error = document.RootElement.GetProperty("error").Clone();
        Assert.Equal(["message", "type", "param", "code"], error.EnumerateObject().Select(p => p.Name));
        return error;
    }
}
