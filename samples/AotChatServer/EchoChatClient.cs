using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAiStreaming.Sampling;

namespace AotChatServer;

/// <summary>
/// A stand-in model: it answers with the last user message, one word per update, each chosen through the CPU sampler
/// (greedy over one-hot logits), so that the native binary runs the sampler's code too.
/// </summary>
internal sealed class EchoChatClient : IChatClient
{
    /// <summary>The id the model is served under.</summary>
    public const string ModelId = "echo";

    private static readonly SamplingParams s_greedy = new() { Temperature = 0 };

    private readonly CpuSampler _sampler = new();

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prompt = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty;
        var words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var limit = options?.MaxOutputTokens ?? int.MaxValue;
        var logits = new float[Math.Max(words.Length, 1)];
        for (var step = 0; step < words.Length && step < limit; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Array.Clear(logits);
            logits[step] = 1;
            var token = _sampler.Sample(logits, s_greedy, seed: 0, step);
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, step == 0 ? words[token] : " " + words[token]);
        }

        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
    }

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
