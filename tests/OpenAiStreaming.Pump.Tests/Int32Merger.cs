namespace OpenAiStreaming.Pump.Tests;

/// <summary>Never merges: every int reaches the consumer on its own, 4 bytes each.</summary>
internal sealed class Int32Merger : IDeltaMerger<int>
{
    public static readonly Int32Merger Instance = new();

    public bool TryMerge(int pending, int next) => false;

    public long GetSize(int delta) => sizeof(int);
}
