using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>
/// A controllable backend: streams a script of tokens with set delays, records the options it was called with, and
/// signals when its cancellation token fires or its stream ends.
/// </summary>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly Func<int, TimeSpan> _delayBeforeToken;
    private readonly IReadOnlyList<string> _tokens;

    public ScriptedChatClient(IReadOnlyList<string> tokens, TimeSpan delay)
        : this(tokens, _ => delay)
    {
    }

    public ScriptedChatClient(IReadOnlyList<string> tokens, Func<int, TimeSpan> delayBeforeToken)
    {
        _tokens = tokens;
        _delayBeforeToken = delayBeforeToken;
    }

    /// <summary>Throw this after emitting <see cref="FailAfter"/> tokens.</summary>
    public Exception? Failure { get; init; }

    public int FailAfter { get; init; }

    public ChatFinishReason FinishReason { get; init; } = ChatFinishReason.Stop;

    public UsageDetails? Usage { get; init; }

    /// <summary>Completes when a generation's cancellation token fired while it was running.</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a generation has ended, however it ended.</summary>
    public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every generation this backend started, in order, with what happened to it.</summary>
    public Channel<Generation> Generations { get; } = Channel.CreateUnbounded<Generation>();

    /// <summary>How many generations started.</summary>
    public int StartedCount => Volatile.Read(ref _startedCount);

    private int _startedCount;

    public ChatOptions? LastOptions { get; private set; }

    public IList<ChatMessage>? LastMessages { get; private set; }

    public static IReadOnlyList<string> Words(int count) => [.. Enumerable.Range(0, count).Select(i => $"w{i} ")];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        LastMessages = [.. messages];
        LastOptions = options;
        var generation = new Generation();
        Interlocked.Increment(ref _startedCount);
        Generations.Writer.TryWrite(generation);
        Started.TrySetResult();
        void MarkCancelled()
        {
            generation.CancelledAt = Stopwatch.GetTimestamp();
            generation.Cancelled.TrySetResult();
            Cancelled.TrySetResult();
        }

        using var registration = cancellationToken.Register(MarkCancelled);
        try
        {
            for (int i = 0; i < _tokens.Count; i++)
            {
                generation.Emitted = i;
                if (Failure is not null && i == FailAfter)
                {
                    throw Failure;
                }

                var delay = _delayBeforeToken(i);
                if (delay > TimeSpan.Zero)
                {
                    await AtLeastAsync(delay, cancellationToken);
                }

                cancellationToken.ThrowIfCancellationRequested();
                yield return new ChatResponseUpdate(ChatRole.Assistant, _tokens[i]);
            }

            if (Failure is not null && FailAfter >= _tokens.Count)
            {
                throw Failure;
            }

            var last = new ChatResponseUpdate { FinishReason = FinishReason };
            if (Usage is not null)
            {
                last.Contents.Add(new UsageContent(Usage));
            }

            yield return last;
        }
        finally
        {
            // Cancelled, but stopped before the registration ran: a cancellation's callbacks run one after another, so
            // the stop it causes (a delay's callback resuming this iterator, or the consumer disposing it at a yield)
            // can reach this finally, whose using removes the registration, before this generation's callback runs.
            if (cancellationToken.IsCancellationRequested && !generation.Cancelled.Task.IsCompleted)
            {
                MarkCancelled();
            }

            generation.Finished.TrySetResult();
            Finished.TrySetResult();
        }
    }

    /// <summary>
    /// Waits at least <paramref name="delay"/>: timers count whole milliseconds and can fire a fraction early, and a
    /// backend that promises its first token after 300 ms must not deliver it at 299.3.
    /// </summary>
    private static async Task AtLeastAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        await Task.Delay(delay, cancellationToken);
        for (var left = delay - Stopwatch.GetElapsedTime(start); left > TimeSpan.Zero; left = delay - Stopwatch.GetElapsedTime(start))
        {
            await Task.Delay(left + TimeSpan.FromMilliseconds(1), cancellationToken);
        }
    }

    /// <summary>One generation: when its token fired, and whether its loop has ended.</summary>
    public sealed class Generation
    {
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The <see cref="Stopwatch"/> timestamp of the cancellation.</summary>
        public long CancelledAt { get; set; }

        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Tokens emitted before the loop ended.</summary>
        public int Emitted { get; set; }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
