using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>Merges text deltas; sizes them by their characters, as UTF-16 in memory, plus a fixed cost per update.</summary>
internal sealed class ChatDeltaMerger : IDeltaMerger<ChatDelta>
{
    /// <summary>What an update that is more than text is counted as: its objects, roughly.</summary>
    private const int UpdateSize = 256;

    public static readonly ChatDeltaMerger Instance = new();

    public bool TryMerge(ChatDelta pending, ChatDelta next) => pending.TryAppend(next);

    public long GetSize(ChatDelta delta) => delta.Update is null ? delta.TextLength * sizeof(char) : UpdateSize;
}
