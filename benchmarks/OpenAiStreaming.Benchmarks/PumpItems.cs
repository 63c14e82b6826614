using OpenAiStreaming.Pump;

namespace OpenAiStreaming.Benchmarks;

/// <summary>What the pump benchmarks hand over: a small object, like the server's ChatDelta, created once and reused.</summary>
public sealed class Delta
{
    public static readonly Delta Instance = new();
}

/// <summary>Never merges, so every item reaches the consumer on its own, as with a bare channel; 8 bytes each.</summary>
internal sealed class NeverMerger : IDeltaMerger<Delta>
{
    public static readonly NeverMerger Instance = new();

    public bool TryMerge(Delta pending, Delta next) => false;

    public long GetSize(Delta delta) => 8;
}
