using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ChatServer.Model;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore;

namespace ChatServer.Tests;

public sealed class TinyChatClientTests
{
    private const string Prompt = "What does the pump do?";

    private static readonly CharLanguageModel Model = CharLanguageModel.Train(string.Concat(Enumerable.Repeat(CharLanguageModelTests.Corpus, 4)));

    [Fact]
    public async Task GetStreamingResponseAsync_SameSeed_SameText()
    {
        (string first, _) = await GenerateAsync(new ChatOptions { Seed = 42, MaxOutputTokens = 80 });
        (string second, _) = await GenerateAsync(new ChatOptions { Seed = 42, MaxOutputTokens = 80 });

        Assert.Equal(80, first.Length);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_DifferentSeeds_DifferentText()
    {
        (string first, _) = await GenerateAsync(new ChatOptions { Seed = 1, MaxOutputTokens = 80 });
        (string second, _) = await GenerateAsync(new ChatOptions { Seed = 2, MaxOutputTokens = 80 });

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NoSeed_DifferentText()
    {
        (string first, _) = await GenerateAsync(new ChatOptions { MaxOutputTokens = 80 });
        (string second, _) = await GenerateAsync(new ChatOptions { MaxOutputTokens = 80 });

        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_MaxOutputTokens_StopsWithLength()
    {
        (string text, List<ChatResponseUpdate> updates) = await GenerateAsync(new ChatOptions { Seed = 7, MaxOutputTokens = 17 });

        Assert.Equal(17, text.Length);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.All(updates.SkipLast(1), update => Assert.Null(update.FinishReason));
        UsageDetails usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents)).Details;
        Assert.Equal(Prompt.Length + 2, usage.InputTokenCount);
        Assert.Equal(17, usage.OutputTokenCount);
        Assert.Equal(Prompt.Length + 2 + 17, usage.TotalTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NoMaxOutputTokens_UsesDefaultMaxTokens()
    {
        var client = new TinyChatClient(Model, new TinyModelOptions { TokenDelay = TimeSpan.Zero, DefaultMaxTokens = 5 });

        (string text, List<ChatResponseUpdate> updates) = await GenerateAsync(new ChatOptions(), client);

        Assert.Equal(5, text.Length);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_EveryToken_OneCharacterUpdateWithConstantIds()
    {
        (_, List<ChatResponseUpdate> updates) = await GenerateAsync(new ChatOptions { Seed = 3, MaxOutputTokens = 20 });

        Assert.Equal(21, updates.Count);
        Assert.All(updates, update =>
        {
            Assert.Equal(ChatRole.Assistant, update.Role);
            Assert.Equal(TinyChatClient.DefaultModelId, update.ModelId);
            Assert.Equal(updates[0].ResponseId, update.ResponseId);
            Assert.Equal(updates[0].ResponseId, update.MessageId);
            Assert.Equal(updates[0].CreatedAt, update.CreatedAt);
        });
        Assert.StartsWith("chatcmpl-", updates[0].ResponseId, StringComparison.Ordinal);
        Assert.NotNull(updates[0].CreatedAt);
        Assert.All(updates.SkipLast(1), update => Assert.Single(Assert.IsType<TextContent>(Assert.Single(update.Contents)).Text));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StopSequence_StopsBeforeItWithStop()
    {
        (string free, _) = await GenerateAsync(new ChatOptions { Seed = 11, MaxOutputTokens = 120 });
        string stop = free.Substring(20, 3);
        string expected = free[..free.IndexOf(stop, StringComparison.Ordinal)];

        (string text, List<ChatResponseUpdate> updates) = await GenerateAsync(
            new ChatOptions { Seed = 11, MaxOutputTokens = 120, StopSequences = ["never appears", stop] });

        Assert.Equal(expected, text);
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        UsageDetails usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents)).Details;
        Assert.Equal(expected.Length + stop.Length, usage.OutputTokenCount);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StopSequencePrefixAtEnd_PrefixReleasedWithLength()
    {
        (string free, _) = await GenerateAsync(new ChatOptions { Seed = 5, MaxOutputTokens = 30 });
        string stop = free[^2..] + "\u0001";

        (string text, List<ChatResponseUpdate> updates) = await GenerateAsync(
            new ChatOptions { Seed = 5, MaxOutputTokens = 30, StopSequences = [stop] });

        Assert.Equal(free, text);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledMidStream_ThrowsPromptly()
    {
        var client = new TinyChatClient(Model, new TinyModelOptions { TokenDelay = TimeSpan.FromMilliseconds(10), DefaultMaxTokens = 10_000 });
        using var cts = new CancellationTokenSource();
        int received = 0;

        async Task ConsumeAsync()
        {
            await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync([new(ChatRole.User, Prompt)], null, cts.Token))
            {
                if (++received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        }

        var watch = Stopwatch.StartNew();
        Task consume = ConsumeAsync();
        Task finished = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        Assert.Same(consume, finished);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consume);
        Assert.Equal(3, received);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CancelledDuringLongDelay_ThrowsWithoutWaitingForIt()
    {
        var client = new TinyChatClient(Model, new TinyModelOptions { TokenDelay = TimeSpan.FromMinutes(5) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        Task consume = client.GetResponseAsync([new(ChatRole.User, Prompt)], null, cts.Token);
        Task finished = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        Assert.Same(consume, finished);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consume);
    }

    [Fact]
    public async Task GetResponseAsync_Seeded_MatchesStreamedTextAndUsage()
    {
        var options = new ChatOptions { Seed = 9, MaxOutputTokens = 40 };
        (string streamed, _) = await GenerateAsync(options);

        ChatResponse response = await Client().GetResponseAsync([new(ChatRole.User, Prompt)], options, TestContext.Current.CancellationToken);

        Assert.Equal(streamed, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(40, response.Usage?.OutputTokenCount);
        Assert.Equal(TinyChatClient.DefaultModelId, response.ModelId);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_MinPOne_SameAsGreedy()
    {
        (string greedy, _) = await GenerateAsync(new ChatOptions { Temperature = 0, MaxOutputTokens = 60 });

        foreach (object minP in new object[] { 1.0, 1.0f, JsonDocument.Parse("1.0").RootElement, 1 })
        {
            var options = new ChatOptions { Seed = 4, MaxOutputTokens = 60, AdditionalProperties = new() { [TinyChatClient.MinPKey] = minP } };
            (string text, _) = await GenerateAsync(options);
            Assert.Equal(greedy, text);
        }
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Penalties_ChangeGreedyText()
    {
        (string greedy, _) = await GenerateAsync(new ChatOptions { Temperature = 0, MaxOutputTokens = 60 });

        foreach (ChatOptions options in new ChatOptions[]
        {
            new() { Temperature = 0, MaxOutputTokens = 60, AdditionalProperties = new() { [TinyChatClient.RepetitionPenaltyKey] = JsonDocument.Parse("3").RootElement } },
            new() { Temperature = 0, MaxOutputTokens = 60, AdditionalProperties = new() { [TinyChatClient.RepetitionPenaltyKey] = 3.0 } },
            new() { Temperature = 0, MaxOutputTokens = 60, FrequencyPenalty = 2 },
            new() { Temperature = 0, MaxOutputTokens = 60, PresencePenalty = 2 },
        })
        {
            (string text, _) = await GenerateAsync(options);
            Assert.NotEqual(greedy, text);
        }
    }

    [Fact]
    public async Task GetStreamingResponseAsync_TopKOne_SameAsGreedy()
    {
        (string greedy, _) = await GenerateAsync(new ChatOptions { Temperature = 0, MaxOutputTokens = 60 });

        (string topK, _) = await GenerateAsync(new ChatOptions { TopK = 1, Seed = 8, MaxOutputTokens = 60 });
        (string topP, _) = await GenerateAsync(new ChatOptions { TopP = 1e-6f, Seed = 8, MaxOutputTokens = 60 });

        Assert.Equal(greedy, topK);
        Assert.Equal(greedy, topP);
    }

    [Fact]
    public void GetStreamingResponseAsync_InvalidSampling_ThrowsBeforeStreaming()
    {
        TinyChatClient client = Client();
        ChatMessage[] messages = [new(ChatRole.User, Prompt)];

        Assert.Throws<ArgumentOutOfRangeException>(() => client.GetStreamingResponseAsync(messages, new ChatOptions { TopP = 0 }, TestContext.Current.CancellationToken));
        Assert.Throws<ArgumentOutOfRangeException>(() => client.GetStreamingResponseAsync(
            messages, new ChatOptions { AdditionalProperties = new() { [TinyChatClient.MinPKey] = 2.0 } }, TestContext.Current.CancellationToken));
        Assert.Throws<ArgumentOutOfRangeException>(() => client.GetStreamingResponseAsync(messages, new ChatOptions { MaxOutputTokens = 0 }, TestContext.Current.CancellationToken));
        Assert.Throws<ArgumentException>(() => client.GetStreamingResponseAsync(
            messages, new ChatOptions { AdditionalProperties = new() { [TinyChatClient.MinPKey] = true } }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void GetService_Metadata_ReturnsTinyModelMetadata()
    {
        TinyChatClient client = Client();

        ChatClientMetadata? metadata = client.GetService<ChatClientMetadata>();

        Assert.NotNull(metadata);
        Assert.Equal(TinyChatClient.DefaultModelId, metadata.ProviderName);
        Assert.Equal(TinyChatClient.DefaultModelId, metadata.DefaultModelId);
        Assert.Same(client, client.GetService<TinyChatClient>());
        Assert.Null(client.GetService<ChatClientMetadata>("key"));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LogprobsAsked_EveryTokenReportsItsLogprobAndDescendingTopLogprobs()
    {
        var options = new ChatOptions
        {
            Seed = 3,
            MaxOutputTokens = 40,
            AdditionalProperties = new() { [LogprobContent.LogprobsOptionKey] = true, [LogprobContent.TopLogprobsOptionKey] = 5 },
        };

        (string text, List<ChatResponseUpdate> updates) = await GenerateAsync(options);

        var logprobs = updates.SelectMany(u => u.Contents.OfType<LogprobContent>()).ToList();
        Assert.Equal(text, string.Concat(logprobs.Select(l => l.Token)));
        Assert.All(logprobs, l =>
        {
            Assert.True(l.Logprob <= 0);
            Assert.Equal(5, l.TopLogprobs.Count);
            Assert.True(l.TopLogprobs.Zip(l.TopLogprobs.Skip(1)).All(p => p.First.Logprob >= p.Second.Logprob));
            Assert.True(l.TopLogprobs[0].Logprob >= l.Logprob);
        });

        // Asking for logprobs changes nothing in what is sampled.
        (string plain, _) = await GenerateAsync(new ChatOptions { Seed = 3, MaxOutputTokens = 40 });
        Assert.Equal(plain, text);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NoLogprobsAsked_NoneReported()
    {
        (_, List<ChatResponseUpdate> updates) = await GenerateAsync(new ChatOptions { Seed = 3, MaxOutputTokens = 10 });

        Assert.Empty(updates.SelectMany(u => u.Contents.OfType<LogprobContent>()));
    }

    [Fact]
    public void GetService_Capabilities_ReportsLogprobs()
    {
        using var client = Client();

        Assert.True(ChatModelCapabilities.Of(client).Logprobs);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_StopTokenIds_StopsBeforeThatTokenWithStop()
    {
        (string text, _) = await GenerateAsync(new ChatOptions { Seed = 9, MaxOutputTokens = 60 });
        char stopChar = text[10];
        int stopToken = Model.Encode(stopChar);

        (string stopped, List<ChatResponseUpdate> updates) = await GenerateAsync(new ChatOptions
        {
            Seed = 9,
            MaxOutputTokens = 60,
            AdditionalProperties = new() { [TinyChatClient.StopTokenIdsKey] = new[] { stopToken } },
        });

        Assert.Equal(text[..text.IndexOf(stopChar, StringComparison.Ordinal)], stopped);
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    private static TinyChatClient Client() => new(Model, new TinyModelOptions { TokenDelay = TimeSpan.Zero });

    private static async Task<(string Text, List<ChatResponseUpdate> Updates)> GenerateAsync(ChatOptions options, TinyChatClient? client = null)
    {
        client ??= Client();
        var text = new StringBuilder();
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(
            [new(ChatRole.System, "Be brief."), new(ChatRole.User, Prompt)], options, TestContext.Current.CancellationToken))
        {
            updates.Add(update);
            text.Append(update.Text);
        }

        return (text.ToString(), updates);
    }
}
