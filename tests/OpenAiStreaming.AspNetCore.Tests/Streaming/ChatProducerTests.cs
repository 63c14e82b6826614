using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

/// <summary>What the producer does between the model and the pump, seen in the bytes a client gets: n generations
/// multiplexed by choice, and the request's stop strings applied whatever the model does.</summary>
public sealed class ChatProducerTests : IDisposable
{
    private readonly LifecycleHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Stream_NIsThree_EachChoiceItsOwnSeedTextAndFinishUsageCountsAll()
    {
        var model = new SeedEchoClient();

        string body = await _h.Start(model, Request(stream: true, includeUsage: true, n: 3, seed: 40)).EndAsync();

        var chunks = Chunks(body);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"seed{40 + i}.", Text(chunks, i));
            var finish = Assert.Single(chunks, c => c.Choices.Any(ch => ch.Index == i && ch.FinishReason is not null));
            Assert.Equal("stop", finish.Choices[0].FinishReason);
        }

        Assert.Equal(3 * 2, chunks[^1].Usage!.Value.GetProperty("completion_tokens").GetInt32());
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Whole_NIsTwo_TwoChoicesByIndex()
    {
        var model = new SeedEchoClient();

        string body = await _h.Start(model, Request(stream: false, n: 2, seed: 7)).EndAsync();

        using var json = JsonDocument.Parse(body);
        var choices = json.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(["seed7.", "seed8."], choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal(4, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Stream_ClientLeaves_EveryGenerationCancelled()
    {
        var model = new SeedEchoClient { Endless = true };

        var request = _h.Start(model, Request(stream: true, n: 3, seed: 1));
        await model.AllStarted(3).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        request.Connection.ClientLeaves();
        await request.EndAsync();

        Assert.Equal(3, model.Tokens.Count);
        Assert.All(model.Tokens, t => Assert.True(t.IsCancellationRequested));
    }

    [Fact]
    public async Task Stream_StopSplitAcrossTwoBackendDeltas_NeverReachesClientAndModelCancelled()
    {
        CancellationToken modelToken = default;
        var model = new DelegateChatClient(ct =>
        {
            modelToken = ct;
            return Updates(ct, "Hello ", "wor", "ld! and then");
        });

        string body = await _h.Start(model, Request(stream: true, stop: "world")).EndAsync();

        var chunks = Chunks(body);
        Assert.Equal("Hello ", Text(chunks, 0));
        Assert.DoesNotContain("wor", body, StringComparison.Ordinal);
        Assert.Equal("stop", chunks.Last(c => c.Choices.Count > 0).Choices[0].FinishReason);
        Assert.True(modelToken.IsCancellationRequested);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_PrefixThatIsNotAStop_ReleasedWhenKnown()
    {
        var model = new DelegateChatClient(ct => Updates(ct, "a wo", "rm"));

        string body = await _h.Start(model, Request(stream: true, stop: "world")).EndAsync();

        Assert.Equal("a worm", Text(Chunks(body), 0));
    }

    [Fact]
    public async Task Stream_Logprobs_StopCutKeepsLogprobsOfSentTokens()
    {
        var model = new DelegateChatClient(ct => LogprobUpdates(ct, "to", "ken", "s."));

        string body = await _h.Start(model, Request(stream: true, stop: "s.", topLogprobs: 0)).EndAsync();

        var chunks = Chunks(body);
        Assert.Equal("token", Text(chunks, 0));
        var tokens = chunks.SelectMany(c => c.Choices).Where(c => c.Logprobs is { ValueKind: JsonValueKind.Object })
            .SelectMany(c => c.Logprobs!.Value.GetProperty("content").EnumerateArray()).Select(e => e.GetProperty("token").GetString());
        Assert.Equal(["to", "ken"], tokens);
    }

    [Fact]
    public async Task Stream_PushingLoopReachesStop_WriteTokenReturnsFalseAndStreamEndsWithStop()
    {
        var accepted = new List<bool>();
        var model = new PushLoop(sequence =>
        {
            foreach (string token in new[] { "Hel", "lo W", "orld", "!" })
            {
                bool open = sequence.WriteToken(token);
                accepted.Add(open);
                if (!open)
                {
                    return;
                }
            }

            sequence.Complete(ChatFinishReason.Length);
        });

        string body = await _h.Start(model, Request(stream: true, stop: "o Wo")).EndAsync();

        var chunks = Chunks(body);
        Assert.Equal("Hell", Text(chunks, 0));
        Assert.Equal([true, true, false], accepted);
        Assert.Equal("stop", chunks.Last(c => c.Choices.Count > 0).Choices[0].FinishReason);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_ContinuousUsageStats_EveryChunkCarriesRunningUsage()
    {
        var model = new DelegateChatClient(ct => Updates(ct, "a", "b", "c"));
        var request = Request(stream: true, includeUsage: true) with { ContinuousUsage = true };

        string body = await _h.Start(model, request).EndAsync();

        var chunks = Chunks(body);
        Assert.All(chunks, c => Assert.NotNull(c.Usage));
        var content = chunks.Where(c => c.Choices.Count > 0 && c.Choices[0].Content is { Length: > 0 }).Select(c => c.Usage!.Value.GetProperty("completion_tokens").GetInt32()).ToList();
        Assert.True(content.SequenceEqual(content.Order()), "usage did not grow");
        Assert.Equal(3, chunks[^1].Usage!.Value.GetProperty("completion_tokens").GetInt32());
    }

    private static ValidatedRequest Request(bool stream, bool includeUsage = false, int n = 1, long? seed = null, string? stop = null, int? topLogprobs = null)
    {
        var options = new ChatOptions { Seed = seed, StopSequences = stop is null ? null : [stop] };
        if (topLogprobs is not null)
        {
            options.AdditionalProperties = new() { [LogprobContent.LogprobsOptionKey] = true, [LogprobContent.TopLogprobsOptionKey] = topLogprobs.Value };
        }

        return new ValidatedRequest("m", [new ChatMessage(ChatRole.User, "hi")], options, stream, includeUsage) { Choices = n, TopLogprobs = topLogprobs };
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Updates([EnumeratorCancellation] CancellationToken ct, params string[] texts)
    {
        foreach (var text in texts)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, text);
        }
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> LogprobUpdates([EnumeratorCancellation] CancellationToken ct, params string[] texts)
    {
        foreach (var text in texts)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new TextContent(text), new LogprobContent(text, -0.5)]);
        }
    }

    private static List<Chunk> Chunks(string body) =>
        [.. body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(e => e.StartsWith("data: {", StringComparison.Ordinal))
            .Select(e => Chunk.Parse(e["data: ".Length..]))];

    private static string Text(List<Chunk> chunks, int index) =>
        string.Concat(chunks.SelectMany(c => c.Choices).Where(c => c.Index == index).Select(c => c.Content));

    private sealed record Choice(int Index, string? Content, string? FinishReason, JsonElement? Logprobs);

    private sealed record Chunk(List<Choice> Choices, JsonElement? Usage)
    {
        public static Chunk Parse(string json)
        {
            var root = JsonDocument.Parse(json).RootElement;
            var choices = root.GetProperty("choices").EnumerateArray().Select(c => new Choice(
                c.GetProperty("index").GetInt32(),
                c.GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() : null,
                c.GetProperty("finish_reason").GetString(),
                c.TryGetProperty("logprobs", out var logprobs) ? logprobs : null)).ToList();
            return new Chunk(choices, root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object ? usage : null);
        }
    }

    /// <summary>Answers "seed{N}." in two updates, N being the seed it was called with; records each call's token.</summary>
    private sealed class SeedEchoClient : IChatClient
    {
        private readonly Lock _lock = new();
        private int _started;
        private TaskCompletionSource _allStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _expected = int.MaxValue;

        public bool Endless { get; init; }

        public List<CancellationToken> Tokens { get; } = [];

        public Task AllStarted(int count)
        {
            lock (_lock)
            {
                _expected = count;
                if (_started >= count)
                {
                    _allStarted.TrySetResult();
                }

                return _allStarted.Task;
            }
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            lock (_lock)
            {
                Tokens.Add(cancellationToken);
            }

            return Generate(options?.Seed, cancellationToken);
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }

        private async IAsyncEnumerable<ChatResponseUpdate> Generate(long? seed, [EnumeratorCancellation] CancellationToken ct)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, $"seed{seed}");
            lock (_lock)
            {
                if (++_started >= _expected)
                {
                    _allStarted.TrySetResult();
                }
            }

            if (Endless)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, ".");
        }
    }

    private sealed class PushLoop(Action<ChatSequence> start) : TokenStreamChatClient
    {
        protected override void StartSequence(ChatSequence sequence) => Task.Run(() => start(sequence));
    }
}
