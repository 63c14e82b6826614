namespace ChatServer.Tests;

/// <summary>Tests that start the whole sample, which trains its model on the docs: they run alone, so that the
/// training does not take the CPU from the timing tests beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SampleAppCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Starts the sample";
}
