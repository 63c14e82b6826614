using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>
/// A model that answers with its replica's name, then, when it holds, keeps the request open until
/// <see cref="Release"/> or cancellation: a way to fill a replica's admission and see which replica served a request.
/// </summary>
public sealed class HeldChatClient(string name, bool hold) : IChatClient
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    /// <summary>The replica's name, the first token of every answer.</summary>
    public string Name { get; } = name;

    /// <summary>Generations started.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Lets every held generation finish.</summary>
    public void Release() => _released.TrySetResult();

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _started);
        yield return new ChatResponseUpdate(ChatRole.Assistant, Name);
        if (hold)
        {
            await _released.Task.WaitAsync(cancellationToken);
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant, " done") { FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
