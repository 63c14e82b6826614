using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>A host whose model loop steps many sequences at once, pushing tokens through <see cref="TokenStreamChatClient"/>.</summary>
public sealed class TokenStreamChatClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BatchedModelLoop_ConcurrentStreams_EachGetsItsOwnTokens()
    {
        using var model = new BatchedModel(TimeSpan.FromMilliseconds(5));
        await using var app = await StartAsync(model);

        var streams = Enumerable.Range(0, 8)
            .Select(i => Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody(model: "batched", includeUsage: true, extra: $",\"max_tokens\":{10 + i}"))))
            .ToList();

        for (int i = 0; i < streams.Count; i++)
        {
            var (_, events) = await streams[i].WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.Equal(string.Concat(Enumerable.Range(0, 10 + i).Select(t => $"t{t} ")), string.Concat(Sse.Contents(events)));
            Assert.Equal("length", events[^3].Json().GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(10 + i, events[^2].Json().GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
    }

    [Fact]
    public async Task BatchedModelLoop_ClientLeaves_LoopDropsTheSequence()
    {
        using var model = new BatchedModel(TimeSpan.FromMilliseconds(5));
        await using var app = await StartAsync(model);

        var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody(model: "batched", extra: ",\"max_tokens\":100000")), HttpCompletionOption.ResponseHeadersRead, Ct);
        var body = await response.Content.ReadAsStreamAsync(Ct);
        Assert.True(await body.ReadAsync(new byte[1], Ct) > 0);
        await model.Active.WaitAsync(1, TimeSpan.FromSeconds(10));
        response.Dispose();

        await model.Active.WaitAsync(0, TimeSpan.FromSeconds(10));
        Assert.True(model.Dropped >= 1);
    }

    private static Task<TestApp> StartAsync(BatchedModel model) => TestApp.StartAsync(
        builder => builder.Services.AddOpenAiStreaming().AddChatModel("batched", _ => model),
        app => app.MapOpenAiStreaming());

    /// <summary>
    /// The shape of a real batched host (docs/lifecycle.md shows it): requests join a batch, every step emits one token
    /// per sequence, and a sequence whose client left is dropped at the next step.
    /// </summary>
    private sealed class BatchedModel : TokenStreamChatClient
    {
        private readonly Channel<ChatSequence> _incoming = Channel.CreateUnbounded<ChatSequence>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly TimeSpan _step;

        public BatchedModel(TimeSpan step)
        {
            _step = step;
            _loop = Task.Run(LoopAsync);
        }

        public ObservableCount Active { get; } = new();

        public int Dropped { get; private set; }

        protected override void StartSequence(ChatSequence sequence) => _incoming.Writer.TryWrite(sequence);

        protected override void Dispose(bool disposing)
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            var batch = new List<(ChatSequence Sequence, int Generated)>();
            while (!_stop.IsCancellationRequested)
            {
                while (_incoming.Reader.TryRead(out var joining))
                {
                    batch.Add((joining, 0));
                }

                Active.Set(batch.Count);
                await Task.Delay(_step); // one forward pass for the whole batch
                for (int i = batch.Count - 1; i >= 0; i--)
                {
                    var (sequence, generated) = batch[i];
                    int max = sequence.Options?.MaxOutputTokens ?? 16;
                    if (!sequence.WriteToken($"t{generated} "))
                    {
                        Dropped++;
                        batch.RemoveAt(i);
                    }
                    else if (generated + 1 == max)
                    {
                        sequence.Complete(ChatFinishReason.Length, new UsageDetails { InputTokenCount = 1, OutputTokenCount = max });
                        batch.RemoveAt(i);
                    }
                    else
                    {
                        batch[i] = (sequence, generated + 1);
                    }
                }
            }
        }
    }

    /// <summary>A count a test can wait on.</summary>
    private sealed class ObservableCount
    {
        private readonly Lock _lock = new();
        private int _value;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Set(int value)
        {
            TaskCompletionSource changed;
            lock (_lock)
            {
                if (_value == value)
                {
                    return;
                }

                _value = value;
                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }

        public async Task WaitAsync(int value, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_value == value)
                    {
                        return;
                    }

                    changed = _changed.Task;
                }

                await changed.WaitAsync(cts.Token);
            }
        }
    }
}
