using Microsoft.Extensions.AI;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>Starts a model's output into a request's pump.</summary>
internal static class ChatProducer
{
    /// <summary>
    /// A <see cref="TokenStreamChatClient"/> registered as it is writes straight into the pump (one queue). Any other
    /// client, a <see cref="TokenStreamChatClient"/> inside a <see cref="ChatClientBuilder"/> pipeline included, is
    /// enumerated through its streaming call, so that the pipeline's middleware sees every update.
    /// </summary>
    /// <exception cref="ArgumentException">The model rejected the request's arguments before producing anything.</exception>
    public static async ValueTask<TokenPump<ChatDelta>> StartAsync(
        IChatClient client, ValidatedRequest request, TokenPumpOptions options, CancellationToken cancellationToken)
    {
        if (client is not TokenStreamChatClient loop)
        {
            return TokenPump<ChatDelta>.Start(
                ct => ChatDelta.FromAsync(client.GetStreamingResponseAsync(request.Messages, request.Options, ct)),
                ChatDeltaMerger.Instance,
                options,
                cancellationToken);
        }

        var pump = TokenPump<ChatDelta>.Create(ChatDeltaMerger.Instance, options, cancellationToken);
        try
        {
            loop.Start(new ChatSequence(request.Messages, request.Options, pump));
            return pump;
        }
        catch
        {
            await pump.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
