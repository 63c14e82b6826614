namespace OpenAiStreaming.LoadGenerator.Tests.Infrastructure;

/// <summary>Tests that compare measured latencies with a server's delays. They run alone, after the parallel tests of
/// this assembly, so that no other test's work delays the reads they time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "Timing-sensitive";
}
