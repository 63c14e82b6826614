using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>
/// A model that calls tools the way chat models do: asked a question, it answers with calls to <c>get_weather</c> for
/// Paris and Oslo (one call when parallel calls are off); given the tools' results, it answers in text that quotes them.
/// It records the options of every call.
/// </summary>
public sealed class WeatherToolChatClient : IChatClient
{
    /// <summary>The options of every call, in order.</summary>
    public List<ChatOptions?> Calls { get; } = [];

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        lock (Calls)
        {
            Calls.Add(options);
        }

        var results = messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        return results.Count > 0 ? AnswerAsync(results, cancellationToken) : CallToolsAsync(options, cancellationToken);
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> CallToolsAsync(ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        var update = new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_paris", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]);
        if (options?.AllowMultipleToolCalls != false)
        {
            update.Contents.Add(new FunctionCallContent("call_oslo", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" }));
        }

        update.FinishReason = ChatFinishReason.ToolCalls;
        yield return update;
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> AnswerAsync(List<FunctionResultContent> results, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string answer = "Forecast: " + string.Join("; ", results.Select(r => $"{r.CallId}={r.Result}")) + ".";
        foreach (string word in answer.Split(' '))
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, word == answer.Split(' ')[0] ? word : " " + word);
        }

        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop };
    }
}
