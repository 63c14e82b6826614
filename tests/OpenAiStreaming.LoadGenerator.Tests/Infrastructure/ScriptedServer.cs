using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.LoadGenerator.Tests.Infrastructure;

/// <summary>How a scripted stream ends.</summary>
public enum Ending
{
    /// <summary>Finish chunk, usage chunk when asked, <c>data: [DONE]</c>.</summary>
    Done,

    /// <summary>Finish chunk, then the response ends normally without <c>[DONE]</c>.</summary>
    NoDone,

    /// <summary>The connection is aborted after the tokens, once <see cref="Script.BeforeAbort"/> has completed.</summary>
    Abort,

    /// <summary>An <c>{"error":...}</c> event after the tokens, then the response ends without <c>[DONE]</c>.</summary>
    ErrorEvent,

    /// <summary>Like <see cref="Done"/>, then a content event and a malformed one after <c>[DONE]</c>.</summary>
    DoneThenMore,
}

/// <summary>What a <see cref="ScriptedServer"/> does for every request.</summary>
public sealed record Script
{
    public int Tokens { get; init; } = 8;

    public TimeSpan FirstDelay { get; init; }

    public TimeSpan Interval { get; init; }

    public Ending Ending { get; init; } = Ending.Done;

    /// <summary>
    /// Awaited before <see cref="Ending.Abort"/> aborts: an abort discards what the transport has not sent yet, so a test
    /// that needs the tokens to arrive waits here until the client has read them.
    /// </summary>
    public Func<Task>? BeforeAbort { get; init; }

    /// <summary>Write a <c>: keep-alive</c> comment before every token.</summary>
    public bool Heartbeats { get; init; }

    /// <summary>Answer every chat request with this status and an OpenAI error body instead of a stream.</summary>
    public int? Status { get; init; }

    /// <summary>Serve <c>/bench/stats</c> and <c>/bench/reset</c> like a benchmark peer.</summary>
    public bool BenchEndpoints { get; init; }

    /// <summary>Whether <c>/bench/stats</c> lists the cancellations it recorded.</summary>
    public bool ListCancellations { get; init; } = true;
}

/// <summary>
/// A real Kestrel on 127.0.0.1 (free port) serving a known token schedule in OpenAI's chunk format, recording what
/// it received; with <see cref="Script.BenchEndpoints"/>, the peer control endpoints of bench-protocol.md.
/// </summary>
public sealed class ScriptedServer : IAsyncDisposable
{
    public const string ModelId = "scripted-model";

    private static readonly string[] Words = [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " It", " was", " not", " a", " bad", " day"];

    private readonly Script _script;
    private TestApp? _app;
    private int _active;
    private int _started;
    private int _completed;
    private int _cancelled;

    private ScriptedServer(Script script) => _script = script;

    public Uri BaseAddress => _app!.BaseAddress;

    /// <summary>Every request's X-Bench-Id.</summary>
    public ConcurrentQueue<string> BenchIds { get; } = new();

    /// <summary>Every chat request's body.</summary>
    public ConcurrentQueue<string> Bodies { get; } = new();

    /// <summary>Streams that stopped because the client went away: X-Bench-Id and monotonic ns.</summary>
    public ConcurrentQueue<(string Id, long StoppedNs)> Cancellations { get; } = new();

    /// <summary>Times <c>/bench/reset</c> was called.</summary>
    public int Resets { get; private set; }

    public static async Task<ScriptedServer> StartAsync(Script script)
    {
        var server = new ScriptedServer(script);
        server._app = await TestApp.StartAsync(_ => { }, server.Map);
        return server;
    }

    private void Map(WebApplication app)
    {
        app.MapPost("/v1/chat/completions", ChatAsync);
        app.MapGet("/v1/models", () => Results.Text($$"""{"object":"list","data":[{"id":"{{ModelId}}","object":"model","created":1,"owned_by":"test"},{"id":"second","object":"model","created":1,"owned_by":"test"}]}""", "application/json"));
        if (_script.BenchEndpoints)
        {
            app.MapGet("/bench/stats", Stats);
            app.MapPost("/bench/reset", () =>
            {
                Cancellations.Clear();
                _started = _completed = _cancelled = 0;
                Resets++;
                return Results.NoContent();
            });
        }
    }

    private IResult Stats()
    {
        var json = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $$"""{"impl":"scripted","active":{{Volatile.Read(ref _active)}},"started":{{_started}},"completed":{{_completed}},"cancelled":{{_cancelled}},"rss_bytes":0,"managed_bytes":0,"cancellations":["""));
        if (_script.ListCancellations)
        {
            json.AppendJoin(',', Cancellations.Select(c => string.Create(CultureInfo.InvariantCulture, $$"""{"id":"{{c.Id}}","stopped_ns":{{c.StoppedNs}}}""")));
        }

        json.Append("]}");
        return Results.Text(json.ToString(), "application/json");
    }

    private async Task ChatAsync(HttpContext context)
    {
        string id = context.Request.Headers["X-Bench-Id"].ToString();
        BenchIds.Enqueue(id);
        string body;
        using (var reader = new StreamReader(context.Request.Body))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        Bodies.Enqueue(body);
        if (_script.Status is { } status)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"error":{"message":"max_tokens is too large","type":"invalid_request_error","param":"max_tokens","code":"invalid_value"}}""");
            return;
        }

        using var document = JsonDocument.Parse(body);
        bool usage = document.RootElement.TryGetProperty("stream_options", out var options) && options.GetProperty("include_usage").GetBoolean();
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _active);
        var aborted = context.RequestAborted;
        try
        {
            await response.StartAsync(aborted);
            await WriteAsync(response, Chunk("\"role\":\"assistant\",\"content\":\"\"", "null"), aborted);
            long previous = Stopwatch.GetTimestamp();
            for (int i = 0; i < _script.Tokens; i++)
            {
                // Each wait starts from the previous write, and never ends early: the tests assert gaps at least this long.
                await WaitUntilAsync(previous, i == 0 ? _script.FirstDelay : _script.Interval, aborted);
                if (_script.Heartbeats)
                {
                    await response.WriteAsync(": keep-alive\n\n", aborted);
                }

                await WriteAsync(response, Chunk($"\"content\":\"{Words[i % Words.Length]}\"", "null"), aborted);
                previous = Stopwatch.GetTimestamp();
            }

            switch (_script.Ending)
            {
                case Ending.Abort:
                    await (_script.BeforeAbort?.Invoke() ?? Task.CompletedTask);
                    context.Abort();
                    return;
                case Ending.ErrorEvent:
                    // Ended normally rather than aborted, so that the error event cannot be lost with the connection.
                    await WriteAsync(response, """{"error":{"message":"backend exploded","type":"server_error","param":null,"code":null}}""", aborted);
                    return;
                default:
                    break;
            }

            await WriteAsync(response, Chunk(string.Empty, "\"length\""), aborted);
            if (_script.Ending == Ending.NoDone)
            {
                return;
            }

            if (usage)
            {
                await WriteAsync(response, $$"""{"id":"chatcmpl-test","object":"chat.completion.chunk","created":1,"model":"{{ModelId}}","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":{{_script.Tokens}},"total_tokens":{{_script.Tokens + 3}} } }""", aborted);
            }

            await WriteAsync(response, "[DONE]", aborted);
            if (_script.Ending == Ending.DoneThenMore)
            {
                await WriteAsync(response, Chunk("\"content\":\" late\"", "null"), aborted);
                await WriteAsync(response, "{not json", aborted);
            }

            Interlocked.Increment(ref _completed);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Cancellations.Enqueue((id, Stopwatch.GetTimestamp()));
            Interlocked.Increment(ref _cancelled);
        }
        catch (IOException)
        {
            Cancellations.Enqueue((id, Stopwatch.GetTimestamp()));
            Interlocked.Increment(ref _cancelled);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private static string Chunk(string delta, string finish) =>
        "{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"" + ModelId
        + "\",\"choices\":[{\"index\":0,\"delta\":{" + delta + "},\"logprobs\":null,\"finish_reason\":" + finish + "}]}";

    private static async Task WriteAsync(HttpResponse response, string data, CancellationToken cancellationToken)
    {
        await response.WriteAsync("data: " + data + "\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private static async Task WaitUntilAsync(long start, TimeSpan due, CancellationToken cancellationToken)
    {
        TimeSpan left;
        while ((left = due - Stopwatch.GetElapsedTime(start)) > TimeSpan.Zero)
        {
            await Task.Delay(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => _app!.DisposeAsync();
}
