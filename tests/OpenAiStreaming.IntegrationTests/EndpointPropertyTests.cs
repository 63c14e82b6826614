using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Property: whatever a client sends to our endpoints (any method, any content type, any body: random bytes, random
/// JSON, valid requests with random fields and values), the answer is a 2xx or a 4xx in OpenAI's error shape, never a
/// 5xx, a reset connection or a hang.
/// </summary>
public sealed class EndpointPropertyTests : IAsyncLifetime
{
    private static readonly string[] s_paths =
        ["v1/chat/completions", "v1/completions", "v1/models", "v1/models/test-model", "v1/models/no-such-model", "v1/chat/completions?stream=true"];

    private static readonly string[] s_methods = ["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "BREW"];

    private static readonly string?[] s_contentTypes =
    [
        null, "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16", "text/plain",
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/vnd.api+json", "application/json;;;",
        "*/*", "application/", "json", "application/json; charset=\"",
    ];

    private static readonly string[] s_fields =
    [
        "model", "messages", "role", "content", "prompt", "stream", "stream_options", "include_usage", "temperature", "top_p",
        "top_k", "min_p", "max_tokens", "max_completion_tokens", "n", "stop", "stop_token_ids", "seed", "frequency_penalty",
        "presence_penalty", "repetition_penalty", "logprobs", "top_logprobs", "echo", "suffix", "tools", "tool_choice",
        "tool_calls", "tool_call_id", "name", "type", "text", "image_url", "url", "function", "arguments", "user", "",
    ];

    private TestApp _app = null!;

    public async ValueTask InitializeAsync() =>
        _app = await TestApp.StartAsync(new ScriptedChatClient(["a", "b"], TimeSpan.Zero), o => o.MaxRequestBodySize = 16 * 1024);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public void AnyRequest_Answers2xxOr4xxInOpenAiShape()
    {
        var requests = Gen.Elements(s_methods).SelectMany(method => Gen.Elements(s_paths).SelectMany(path => Gen.Elements(s_contentTypes)
            .SelectMany(contentType => Body().Select(body => new HostileRequest(method, path, contentType, body)))));

        Prop.ForAll(Arb.From(requests), request => CheckAsync(request).GetAwaiter().GetResult())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true));
    }

    private async Task<bool> CheckAsync(HostileRequest hostile)
    {
        using var request = new HttpRequestMessage(new HttpMethod(hostile.Method), hostile.Path);
        if (hostile.Body is not null)
        {
            request.Content = new ByteArrayContent(hostile.Body);
            if (hostile.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", hostile.ContentType);
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        using var response = await _app.Client.SendAsync(request, timeout.Token);
        byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
        int status = (int)response.StatusCode;
        if (status is < 200 or >= 500 or (>= 300 and < 400))
        {
            throw new InvalidOperationException($"{status} for {hostile}: {Encoding.UTF8.GetString(body)}");
        }

        if (status >= 400 && hostile.Method != "HEAD")
        {
            AssertErrorShape(body, hostile);
        }

        return true;
    }

    private static void AssertErrorShape(byte[] body, HostileRequest hostile)
    {
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error");
        if (error.GetProperty("message").ValueKind != JsonValueKind.String
            || error.GetProperty("type").ValueKind != JsonValueKind.String
            || error.GetProperty("param").ValueKind is not (JsonValueKind.String or JsonValueKind.Null)
            || error.GetProperty("code").ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            throw new InvalidOperationException($"Not OpenAI's error shape for {hostile}: {Encoding.UTF8.GetString(body)}");
        }
    }

    /// <summary>No body, random bytes, random JSON, or a valid request with random changes, weighted to the last.</summary>
    private static Gen<byte[]?> Body() => Gen.Frequency(
        (1, Gen.Constant<byte[]?>(null)),
        (2, ArbMap.Default.GeneratorFor<byte[]>().Select(b => (byte[]?)b)),
        (2, Json(3).Select(j => (byte[]?)Encoding.UTF8.GetBytes(j))),
        (6, MutatedRequest().Select(j => (byte[]?)Encoding.UTF8.GetBytes(j))));

    private static Gen<string> MutatedRequest() =>
        Gen.Elements(
            """{"model":"test-model","messages":[{"role":"user","content":"hi"}]""",
            """{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":true""",
            """{"model":"test-model","prompt":"hi","stream":true""",
            """{"model":"test-model","prompt":["hi"]""")
        .SelectMany(start => Gen.ListOf(Gen.Elements(s_fields).SelectMany(f => Json(2).Select(v => $",\"{f}\":{v}")))
            .Select(extra => start + string.Concat(extra) + "}"));

    /// <summary>A random JSON value of at most <paramref name="depth"/> levels, with odd numbers and strings.</summary>
    private static Gen<string> Json(int depth)
    {
        var scalar = Gen.OneOf(
            Gen.Elements("null", "true", "false", "0", "-1", "1", "2", "1e400", "-0.0", "3.5", "2147483648", "-2147483649", "1E-400",
                "\"\"", "\"user\"", "\"assistant\"", "\"tool\"", "\"test-model\"", "\"text\"", "\"data:,x\"", "\"data:image/png;base64,%%\"", "\"\\ud800\""),
            ArbMap.Default.GeneratorFor<string>().Select(s => JsonSerializer.Serialize(s ?? string.Empty)),
            ArbMap.Default.GeneratorFor<int>().Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (depth == 0)
        {
            return scalar;
        }

        var inner = Json(depth - 1);
        return Gen.Frequency(
            (3, scalar),
            (1, Gen.ListOf(inner).Select(items => "[" + string.Join(',', items) + "]")),
            (2, Gen.ListOf(Gen.Elements(s_fields).SelectMany(f => inner.Select(v => $"\"{f}\":{v}")))
                .Select(members => "{" + string.Join(',', members) + "}")));
    }

    private sealed record HostileRequest(string Method, string Path, string? ContentType, byte[]? Body)
    {
        public override string ToString() =>
            $"{Method} {Path} Content-Type: {ContentType ?? "(none)"} body: {(Body is null ? "(none)" : Encoding.UTF8.GetString(Body))}";
    }
}
