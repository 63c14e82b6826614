using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// Starts a model's output into a request's pump: one generation per choice (<c>n</c>), each through the request's stop
/// strings, multiplexed by choice index. All generations share the pump's token, so a disconnect cancels every one.
/// </summary>
internal static class ChatProducer
{
    private static readonly Func<ChatResponseUpdate, ChatDelta> s_fromUpdate = static update => ChatDelta.From(update);

    /// <summary>
    /// A <see cref="TokenStreamChatClient"/> registered as it is writes straight into the pump (one queue) when there is
    /// one choice. Any other client, a <see cref="TokenStreamChatClient"/> inside a <see cref="ChatClientBuilder"/>
    /// pipeline included, is enumerated through its streaming call, so that the pipeline's middleware sees every update.
    /// </summary>
    /// <exception cref="ArgumentException">The model rejected the request's arguments before producing anything.</exception>
    public static async ValueTask<TokenPump<ChatDelta>> StartAsync(
        IChatClient client, ValidatedRequest request, TokenPumpOptions options, CancellationToken cancellationToken)
    {
        if (request.Choices == 1 && request.StopSequences is null && client is not TokenStreamChatClient)
        {
            // The common case: the model's updates go into the pump as they come, with nothing in between.
            return TokenPump<ChatDelta>.StartSelecting(
                ct => client.GetStreamingResponseAsync(request.Messages, request.Options, ct),
                s_fromUpdate,
                ChatDeltaMerger.Instance,
                options,
                cancellationToken);
        }

        if (client is not TokenStreamChatClient loop || request.Choices > 1)
        {
            return TokenPump<ChatDelta>.Start(
                ct => request.Choices == 1 ? Generate(client, request, 0, ct) : MergeAsync(client, request, ct),
                ChatDeltaMerger.Instance,
                options,
                cancellationToken);
        }

        var pump = TokenPump<ChatDelta>.Create(ChatDeltaMerger.Instance, options, cancellationToken);
        try
        {
            loop.Start(new ChatSequence(request.Messages, request.Options, pump, NewFilter(request, 0)));
            return pump;
        }
        catch
        {
            await pump.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The stop-string filter of one choice, or null when the request has no stop strings.</summary>
    internal static StopSequenceFilter? NewFilter(ValidatedRequest request, int choice) =>
        request.StopSequences is { } stops ? new StopSequenceFilter(stops, request.IncludeStopString, choice) : null;

    /// <summary>The options of choice <paramref name="choice"/>: a seeded request's choices get seeds seed, seed + 1, ...</summary>
    private static ChatOptions OptionsFor(ValidatedRequest request, int choice)
    {
        if (choice == 0 || request.Options.Seed is not { } seed)
        {
            return request.Options;
        }

        var options = request.Options.Clone();
        options.Seed = unchecked(seed + choice);
        return options;
    }

    /// <summary>Starts one generation (on the caller's thread, so that argument checks throw here).</summary>
    private static IAsyncEnumerable<ChatDelta> Generate(IChatClient client, ValidatedRequest request, int choice, CancellationToken cancellationToken)
    {
        var filter = NewFilter(request, choice);
        var model = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var updates = client.GetStreamingResponseAsync(request.Messages, OptionsFor(request, choice), model.Token);
            return FilterAsync(updates, filter, choice, model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Tags a generation's deltas with their choice and applies its stop strings; a stop cancels the model at once.</summary>
    private static async IAsyncEnumerable<ChatDelta> FilterAsync(
        IAsyncEnumerable<ChatResponseUpdate> updates, StopSequenceFilter? filter, int choice, CancellationTokenSource model)
    {
        using var owned = model;
        var output = new List<ChatDelta>();
        await foreach (var update in updates.ConfigureAwait(false))
        {
            var delta = ChatDelta.From(update, choice);
            if (filter is null)
            {
                yield return delta;
                continue;
            }

            ChatResponseUpdate? rest = null;
            bool stopped;
            if (delta.Update is null)
            {
                stopped = filter.Push(delta, output);
            }
            else
            {
                // Text inside an update that carries more (a finish reason, usage) goes through the filter first.
                (var text, rest) = Split(delta.Update, choice);
                stopped = text is not null && filter.Push(text, output);
                if (!stopped)
                {
                    filter.Flush(output);
                }
            }

            if (stopped)
            {
                await model.CancelAsync().ConfigureAwait(false);
            }

            foreach (var ready in output)
            {
                yield return ready;
            }

            output.Clear();
            if (stopped)
            {
                yield return ChatDelta.From(new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop }, choice);
                yield break;
            }

            if (rest is not null)
            {
                yield return ChatDelta.From(rest, choice);
            }
        }

        filter?.Flush(output);
        foreach (var ready in output)
        {
            yield return ready;
        }
    }

    /// <summary>Splits an update into its text (with logprobs), if any, and the rest.</summary>
    private static (ChatDelta? Text, ChatResponseUpdate Remainder) Split(ChatResponseUpdate update, int choice)
    {
        if (!update.Contents.Any(c => c is TextContent { Text.Length: > 0 }))
        {
            return (null, update);
        }

        string text = string.Concat(update.Contents.OfType<TextContent>().Select(t => t.Text));
        List<LogprobContent> logprobs = [.. update.Contents.OfType<LogprobContent>()];
        var rest = new ChatResponseUpdate(update.Role, [.. update.Contents.Where(c => c is not TextContent and not LogprobContent)])
        {
            FinishReason = update.FinishReason,
            ModelId = update.ModelId,
            ResponseId = update.ResponseId,
            MessageId = update.MessageId,
            CreatedAt = update.CreatedAt,
        };
        return (ChatDelta.Cut(text, logprobs.Count == 0 ? null : logprobs, choice), rest);
    }

    /// <summary>
    /// Runs <c>n</c> generations at once and interleaves their deltas as they come. The first failure cancels the
    /// others and ends the stream with it; the consumer's cancellation cancels them all.
    /// </summary>
    private static IAsyncEnumerable<ChatDelta> MergeAsync(IChatClient client, ValidatedRequest request, CancellationToken cancellationToken)
    {
        var all = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sources = new IAsyncEnumerable<ChatDelta>[request.Choices];
        try
        {
            for (int i = 0; i < sources.Length; i++)
            {
                sources[i] = Generate(client, request, i, all.Token);
            }
        }
        catch
        {
            all.Dispose();
            throw;
        }

        return InterleaveAsync(sources, all, cancellationToken);
    }

    private static async IAsyncEnumerable<ChatDelta> InterleaveAsync(
        IAsyncEnumerable<ChatDelta>[] sources, CancellationTokenSource all, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var owned = all;
        var channel = Channel.CreateUnbounded<ChatDelta>(new UnboundedChannelOptions { SingleReader = true });
        var failure = new StrongBox<ExceptionDispatchInfo?>();
        var tasks = sources.Select(source => Task.Run(async () =>
        {
            try
            {
                await foreach (var delta in source.ConfigureAwait(false))
                {
                    channel.Writer.TryWrite(delta);
                }
            }
            catch (Exception ex)
            {
                // The first failure is the stream's; the others' cancellations follow from it.
                Interlocked.CompareExchange(ref failure.Value, ExceptionDispatchInfo.Capture(ex), null);
                await all.CancelAsync().ConfigureAwait(false);
            }
        })).ToArray();
        var finished = Task.WhenAll(tasks);
        _ = finished.ContinueWith(_ => channel.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var delta))
                {
                    yield return delta;
                }
            }
        }
        finally
        {
            await all.CancelAsync().ConfigureAwait(false);
            await finished.ConfigureAwait(false);
        }

        failure.Value?.Throw();
    }
}
