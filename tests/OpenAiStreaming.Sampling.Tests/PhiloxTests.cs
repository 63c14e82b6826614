namespace OpenAiStreaming.Sampling.Tests;

public class PhiloxTests
{
    // Known answers of Philox4x32-10 from Random123's kat_vectors (also in REFERENCE.md).
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(~0u, ~0u, ~0u, ~0u, ~0u, ~0u, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Generate_KnownAnswerVector_MatchesRandom123(
        uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3)
    {
        Assert.Equal((x0, x1, x2, x3), Philox.Generate(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void Generate_NeighbouringCounters_GiveUnrelatedWords()
    {
        var seen = new HashSet<uint>();
        for (uint i = 0; i < 1000; i++)
        {
            Assert.True(seen.Add(Philox.Generate(7, i, 0, 0, 1, 2).X0));
        }
    }
}
