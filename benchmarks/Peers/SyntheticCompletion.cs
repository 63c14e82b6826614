using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace Peers;

/// <summary>
/// The chunk payloads of one streamed completion of the synthetic model, as the framework-only peers (builtin,
/// handwritten) produce them: role chunk, one content chunk per token on the schedule, finish chunk, usage chunk when
/// asked, <c>[DONE]</c>. Only the transport differs between those peers.
/// </summary>
internal static class SyntheticCompletion
{
    public const string Done = "[DONE]";

    /// <summary>
    /// Yields the JSON of each event's data. The token loop counts as a generation in <paramref name="stats"/>: it is
    /// cancelled (and recorded with <paramref name="benchId"/>) when the consumer stops before the last token.
    /// </summary>
    public static async IAsyncEnumerable<string> GenerateAsync(
        ChatRequest request,
        TokenSchedule schedule,
        BenchStats stats,
        string? benchId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string id = "chatcmpl-" + RandomNumberGenerator.GetHexString(24, lowercase: true);
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        int tokens = request.TokenCount;
        var json = PeerJsonContext.Relaxed.ChatCompletionChunk;

        ChatCompletionChunk Chunk(ChunkDelta delta, string? finishReason) => new()
        {
            Id = id,
            Created = created,
            Model = request.Model,
            Choices = [new ChunkChoice { Delta = delta, FinishReason = finishReason }],
        };

        stats.Started();
        bool completed = false;
        try
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            yield return JsonSerializer.Serialize(Chunk(new ChunkDelta { Role = "assistant", Content = "" }, null), json);
            for (int i = 0; i < tokens; i++)
            {
                await schedule.WaitForTokenAsync(start, i, cancellationToken).ConfigureAwait(false);
                yield return JsonSerializer.Serialize(Chunk(new ChunkDelta { Content = TokenSchedule.Word(i) }, null), json);
            }

            completed = true;
        }
        finally
        {
            stats.Stopped(completed, benchId);
        }

        yield return JsonSerializer.Serialize(Chunk(new ChunkDelta(), "length"), json);
        if (request.IncludeUsage)
        {
            int prompt = request.PromptTokens();
            var usage = new ChatCompletionChunk
            {
                Id = id,
                Created = created,
                Model = request.Model,
                Choices = [],
                Usage = new ChunkUsage { PromptTokens = prompt, CompletionTokens = tokens, TotalTokens = prompt + tokens },
            };
            yield return JsonSerializer.Serialize(usage, json);
        }

        yield return Done;
    }
}
