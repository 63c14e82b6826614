using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>Merges text deltas of one choice with their logprobs, in order; sizes them by their characters, as UTF-16 in
/// memory, plus a fixed cost per logprob and per update.</summary>
internal sealed class ChatDeltaMerger : IDeltaMerger<ChatDelta>
{
    /// <summary>What an update that is more than text is counted as: its objects, roughly.</summary>
    private const int UpdateSize = 256;

    public static readonly ChatDeltaMerger Instance = new();

    public bool TryMerge(ChatDelta pending, ChatDelta next) => pending.TryAppend(next);

    /// <summary>What one token's logprob is counted as, plus <see cref="TopLogprobSize"/> per alternative.</summary>
    private const int LogprobSize = 64;

    private const int TopLogprobSize = 32;

    public long GetSize(ChatDelta delta)
    {
        if (delta.Update is not null)
        {
            return UpdateSize;
        }

        long size = delta.TextLength * sizeof(char);
        var logprobs = delta.Logprobs;
        for (int i = 0; i < logprobs.Count; i++)
        {
            size += LogprobSize + (logprobs[i].TopLogprobs.Count * TopLogprobSize);
        }

        return size;
    }
}
