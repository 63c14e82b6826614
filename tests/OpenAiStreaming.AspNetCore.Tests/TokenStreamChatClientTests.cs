using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Tests;

/// <summary>A push model called as any <see cref="IChatClient"/> (by a pipeline, or by other code), not by the endpoints.</summary>
public sealed class TokenStreamChatClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetStreamingResponseAsync_LoopWritesTokensThenCompletes_UpdatesInOrderThenFinishAndUsage()
    {
        using var model = new Loop(sequence =>
        {
            Assert.True(sequence.WriteToken("a"));
            Assert.True(sequence.WriteToken("b"));
            sequence.Complete(ChatFinishReason.Length, new UsageDetails { InputTokenCount = 4, OutputTokenCount = 2 });
            Assert.False(sequence.WriteToken("late"));
        });

        var updates = await model.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal(["a", "b", ""], updates.Select(u => u.Text));
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        Assert.Equal(2, Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents)).Details.OutputTokenCount);
        Assert.Equal("hi", Assert.Single(model.Sequences).Messages[0].Text);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LoopFails_ReaderGetsTheError()
    {
        using var model = new Loop(sequence =>
        {
            sequence.WriteToken("a");
            sequence.Fail(new InvalidOperationException("boom"));
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => model.GetStreamingResponseAsync([], cancellationToken: Ct).ToListAsync(Ct).AsTask());

        Assert.Equal("boom", error.Message);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_ReaderStops_SequenceCancelledAndRefusesTokens()
    {
        using var model = new Loop(sequence => sequence.WriteToken("a"));

        await foreach (var update in model.GetStreamingResponseAsync([], cancellationToken: Ct))
        {
            Assert.Equal("a", update.Text);
            break;
        }

        var sequence = Assert.Single(model.Sequences);
        Assert.True(sequence.CancellationToken.IsCancellationRequested);
        Assert.False(sequence.WriteToken("b"));
    }

    [Fact]
    public void Dispose_Twice_ReleasesOnce()
    {
        var model = new Loop(_ => { });

        model.Dispose();
        model.Dispose();

        Assert.Equal(1, model.Disposals);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_LoopWritesLogprobs_EachUpdateCarriesItsTokensLogprob()
    {
        using var model = new Loop(sequence =>
        {
            Assert.True(sequence.WriteToken("a", new LogprobContent("a", -0.5, [new TopLogprob("a", -0.5)])));
            Assert.True(sequence.WriteToken("b", new LogprobContent("b", -1)));
            sequence.Complete(ChatFinishReason.Stop);
        })
        { Reports = new ChatModelCapabilities { Logprobs = true } };

        var updates = await model.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal(["a", "b"], updates.SelectMany(u => u.Contents.OfType<LogprobContent>()).Select(l => l.Token));
        Assert.Equal(-0.5, updates[0].Contents.OfType<LogprobContent>().Single().TopLogprobs[0].Logprob);
        Assert.True(ChatModelCapabilities.Of(model).Logprobs);
    }

    [Fact]
    public void GetService_NoOverride_NoCapabilities()
    {
        using var model = new Loop(_ => { });

        Assert.Same(ChatModelCapabilities.None, ChatModelCapabilities.Of(model));
        Assert.Same(model, model.GetService(typeof(TokenStreamChatClient)));
    }

    private sealed class Loop(Action<ChatSequence> start) : TokenStreamChatClient
    {
        public List<ChatSequence> Sequences { get; } = [];

        public int Disposals { get; private set; }

        public ChatModelCapabilities Reports { get; init; } = ChatModelCapabilities.None;

        protected override ChatModelCapabilities Capabilities => Reports;

        protected override void StartSequence(ChatSequence sequence)
        {
            Sequences.Add(sequence);
            start(sequence);
        }

        protected override void Dispose(bool disposing) => Disposals++;
    }
}
