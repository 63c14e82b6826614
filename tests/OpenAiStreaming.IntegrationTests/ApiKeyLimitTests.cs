using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>Per-key limits (<c>OpenAiStreaming:KeyLimits</c>) against a real Kestrel, configured as a host would.</summary>
public sealed class ApiKeyLimitTests
{
    internal const string KeyA = "sk-alpha-0123456789";
    internal const string KeyB = "sk-bravo-9876543210";

    [Fact]
    public async Task RequestsPerMinute_OverLimit_Returns429InOpenAiShapeWithHeaders()
    {
        await using var app = await StartAsync(new ScriptedChatClient(["ok"], TimeSpan.Zero), ("KeyLimits:RequestsPerMinute", "2"));

        using var first = await PostAsync(app, KeyA);
        using var second = await PostAsync(app, KeyA);
        using var third = await PostAsync(app, KeyA);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("2", Header(first, "x-ratelimit-limit-requests"));
        Assert.Equal("1", Header(first, "x-ratelimit-remaining-requests"));
        Assert.EndsWith("s", Header(first, "x-ratelimit-reset-requests"), StringComparison.Ordinal);
        Assert.Equal("0", Header(second, "x-ratelimit-remaining-requests"));
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("30", Header(third, "Retry-After"));
        Assert.Equal("0", Header(third, "x-ratelimit-remaining-requests"));
        var error = await ErrorAsync(third);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task RequestsPerMinute_OneKeyExhausted_OtherKeyStillServed()
    {
        await using var app = await StartAsync(new ScriptedChatClient(["ok"], TimeSpan.Zero), ("KeyLimits:RequestsPerMinute", "1"));

        using var a1 = await PostAsync(app, KeyA);
        using var a2 = await PostAsync(app, KeyA);
        using var b1 = await PostAsync(app, KeyB);

        Assert.Equal(HttpStatusCode.OK, a1.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, a2.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b1.StatusCode);
        Assert.Equal("0", Header(b1, "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task TokensPerMinute_UsageSpendsBudget_NextRequestGets429ForTokens()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(5), TimeSpan.Zero)
        {
            Usage = new UsageDetails { InputTokenCount = 30, OutputTokenCount = 40 },
        };
        await using var app = await StartAsync(backend, ("KeyLimits:TokensPerMinute", "100"));

        using var first = await PostAsync(app, KeyA);
        using var second = await PostAsync(app, KeyA);
        using var third = await PostAsync(app, KeyA);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("100", Header(first, "x-ratelimit-limit-tokens"));
        Assert.Equal("100", Header(first, "x-ratelimit-remaining-tokens"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.InRange(int.Parse(Header(second, "x-ratelimit-remaining-tokens")!, System.Globalization.CultureInfo.InvariantCulture), 30, 31);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("tokens", (await ErrorAsync(third)).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(app, KeyB)).StatusCode);
    }

    [Fact]
    public async Task MaxConcurrentStreams_SecondStreamOfSameKey_Returns429UntilFirstEnds()
    {
        var backend = new GatedChatClient();
        await using var app = await StartAsync(backend, ("KeyLimits:MaxConcurrentStreams", "1"));
        using var firstRequest = Request(KeyA, stream: true);
        using var first = await app.Client.SendAsync(firstRequest, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await backend.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        using var refused = await PostAsync(app, KeyA);
        using var otherKey = await PostAsync(app, KeyB, stream: false, release: backend);
        backend.Release();
        await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var after = await PostAsync(app, KeyA);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("concurrent_requests", (await ErrorAsync(refused)).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, otherKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Models_KeyedRequest_CarriesRateLimitHeadersWithoutSpendingThem()
    {
        await using var app = await StartAsync(new ScriptedChatClient(["ok"], TimeSpan.Zero), ("KeyLimits:RequestsPerMinute", "5"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", KeyA);

        using var models = await app.Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal("5", Header(models, "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Configuration_Reloaded_KeysAndLimitsChangeWithoutRestart()
    {
        await using var app = await StartAsync(new ScriptedChatClient(["ok"], TimeSpan.Zero), ("KeyLimits:RequestsPerMinute", "1"));
        const string KeyC = "sk-charlie-555";
        using (var beforeC = await PostAsync(app, KeyC))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, beforeC.StatusCode);
        }

        using (var a = await PostAsync(app, KeyA))
        {
            Assert.Equal("1", Header(a, "x-ratelimit-limit-requests"));
        }

        var configuration = (IConfigurationRoot)app.App.Configuration;
        configuration["OpenAiStreaming:ApiKeys:0"] = KeyC;
        configuration["OpenAiStreaming:KeyLimits:RequestsPerMinute"] = "50";
        configuration.Reload();

        using var oldKey = await PostAsync(app, KeyA);
        using var newKey = await PostAsync(app, KeyC);
        Assert.Equal(HttpStatusCode.Unauthorized, oldKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, newKey.StatusCode);
        Assert.Equal("50", Header(newKey, "x-ratelimit-limit-requests"));
        Assert.Equal("49", Header(newKey, "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Configuration_ReloadedWithInvalidLimits_KeepsPreviousLimits()
    {
        await using var app = await StartAsync(new ScriptedChatClient(["ok"], TimeSpan.Zero), ("KeyLimits:RequestsPerMinute", "7"));
        (await PostAsync(app, KeyA)).Dispose();

        var configuration = (IConfigurationRoot)app.App.Configuration;
        configuration["OpenAiStreaming:KeyLimits:RequestsPerMinute"] = "0";

        // The options monitor validates on reload and throws to whoever reloads; the limiter keeps what it had.
        var refused = Assert.ThrowsAny<Exception>(configuration.Reload);
        Assert.Contains("RequestsPerMinute", refused.ToString(), StringComparison.Ordinal);
        using var response = await PostAsync(app, KeyA);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("7", Header(response, "x-ratelimit-limit-requests"));
        Assert.Equal("5", Header(response, "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Logs_EveryLevelAndCategory_NeverContainAKey()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(3), TimeSpan.Zero);
        const string WrongKey = "sk-wrong-key-000111";
        await using var app = await StartAsync(
            backend,
            builder => builder.Logging.SetMinimumLevel(LogLevel.Trace).AddFakeLogging(),
            ("KeyLimits:RequestsPerMinute", "2"),
            ("KeyLimits:MaxConcurrentStreams", "4"));

        for (int i = 0; i < 4; i++)
        {
            (await PostAsync(app, KeyA)).Dispose();
        }

        (await PostAsync(app, KeyB, stream: true)).Dispose();
        (await PostAsync(app, WrongKey)).Dispose();
        var configuration = (IConfigurationRoot)app.App.Configuration;
        configuration["OpenAiStreaming:KeyLimits:RequestsPerMinute"] = "3";
        configuration.Reload();
        (await PostAsync(app, KeyB)).Dispose();

        var records = app.App.Services.GetFakeLogCollector().GetSnapshot();
        Assert.Contains(records, r => r.Id.Id == 20);
        foreach (var record in records)
        {
            string text = $"{record.Message} {record.Exception} {string.Join(' ', record.StructuredState?.Select(p => p.Value) ?? [])}";
            foreach (string key in (string[])[KeyA, KeyB, WrongKey, "sk-"])
            {
                Assert.DoesNotContain(key, text, StringComparison.Ordinal);
            }
        }
    }

    internal static Task<TestApp> StartAsync(IChatClient backend, params (string Key, string Value)[] settings) =>
        StartAsync(backend, _ => { }, settings);

    private static Task<TestApp> StartAsync(IChatClient backend, Action<WebApplicationBuilder> configure, params (string Key, string Value)[] settings) =>
        TestApp.StartAsync(
            builder =>
            {
                var values = new Dictionary<string, string?>
                {
                    ["OpenAiStreaming:ApiKeys:0"] = KeyA,
                    ["OpenAiStreaming:ApiKeys:1"] = KeyB,
                };
                foreach (var (key, value) in settings)
                {
                    values["OpenAiStreaming:" + key] = value;
                }

                builder.Configuration.AddInMemoryCollection(values);
                configure(builder);
                builder.Services.AddOpenAiStreaming().AddChatModel("test-model", _ => backend);
            },
            app => app.MapOpenAiStreaming());

    internal static HttpRequestMessage Request(string key, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(Sse.ChatBody(stream: stream), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    private static async Task<HttpResponseMessage> PostAsync(TestApp app, string key, bool stream = false, GatedChatClient? release = null)
    {
        release?.Release();
        using var request = Request(key, stream);
        var response = await app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        await response.Content.LoadIntoBufferAsync(TestContext.Current.CancellationToken);
        return response;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return document.RootElement.GetProperty("error").Clone();
    }

    /// <summary>A model that emits one token once released; the first generation waits, later ones pass once released.</summary>
    private sealed class GatedChatClient : IChatClient
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, "ok");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
