namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that measure time against a tight range (TTFT within [0.30, 0.40) s), or that load the machine for seconds
/// (200 streams through a child process), or that bound a latency (disconnect to cancellation within a second). They
/// run alone, after the parallel tests of this assembly, so neither disturbs the other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "Timing-sensitive";
}
