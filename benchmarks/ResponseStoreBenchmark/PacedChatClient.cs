using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.ResponseStoreBenchmark;

/// <summary>A synthetic model: one short word every <paramref name="interval"/>, on a schedule that does not drift.</summary>
internal sealed class PacedChatClient(TimeSpan interval) : IChatClient
{
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int tokens = options?.MaxOutputTokens ?? 16;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < tokens; i++)
        {
            var due = interval * (i + 1) - System.Diagnostics.Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken).ConfigureAwait(false);
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, i % 2 == 0 ? " stream" : " token");
        }

        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Length };
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
