using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>A model whose stream a test writes as a local function; it records the token it was called with.</summary>
public sealed class DelegateChatClient(Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> stream) : IChatClient
{
    private readonly TaskCompletionSource<CancellationToken> _called = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the request's token when the model is called.</summary>
    public Task<CancellationToken> Called => _called.Task;

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        _called.TrySetResult(cancellationToken);
        return stream(cancellationToken);
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The endpoints always stream from the model.");

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
