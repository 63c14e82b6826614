using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Peers;

/// <summary>The full OpenAiStreaming package with defaults (pump, metrics, heartbeats) over the synthetic model.</summary>
internal static class OursPeer
{
    public static void AddServices(IServiceCollection services, string model)
    {
        services.AddHttpContextAccessor();
        services.AddOpenAiStreaming()
            .AddChatModel(model, sp => new ScheduleChatClient(
                sp.GetRequiredService<TokenSchedule>(), sp.GetRequiredService<BenchStats>(), sp.GetRequiredService<IHttpContextAccessor>()));
    }
}

/// <summary>
/// The synthetic model as an <see cref="IChatClient"/>: one text update per token on the schedule, then the finish
/// reason <c>length</c>, and no usage (the server counts it). Its token is cancelled when the client disconnects.
/// </summary>
internal sealed class ScheduleChatClient(TokenSchedule schedule, BenchStats stats, IHttpContextAccessor accessor) : IChatClient
{
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? benchId = accessor.HttpContext?.Request.Headers["X-Bench-Id"];
        int tokens = options?.MaxOutputTokens ?? TokenSchedule.DefaultMaxTokens;
        stats.Started();
        bool completed = false;
        try
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < tokens; i++)
            {
                await schedule.WaitForTokenAsync(start, i, cancellationToken).ConfigureAwait(false);
                yield return new ChatResponseUpdate(ChatRole.Assistant, TokenSchedule.Word(i));
            }

            completed = true;
        }
        finally
        {
            stats.Stopped(completed, benchId);
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
