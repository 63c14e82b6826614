namespace OpenAiStreaming.Sampling.Tests;

public class KeySelectionTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(10, 1)]
    [InlineData(10, 9)]
    [InlineData(1000, 50)]
    [InlineData(1000, 999)]
    [InlineData(5000, 2500)]
    public void SelectSmallest_RandomKeys_FirstKAreTheKSmallest(int n, int k)
    {
        var random = new Random(n * 31 + k);
        ulong[] keys = [.. Enumerable.Range(0, n).Select(i => ((ulong)random.Next(n / 3 + 1) << 32) | (uint)i)];
        ulong[] sorted = [.. keys.Order()];

        KeySelection.SelectSmallest(keys, k);

        Assert.Equal(sorted[..k], keys[..k].Order());
        Assert.Equal(sorted[k - 1], keys[k - 1]);
    }

    [Fact]
    public void SelectSmallest_SortedAndReversedInput_Works()
    {
        ulong[] ascending = [.. Enumerable.Range(0, 10_000).Select(i => (ulong)i)];
        ulong[] descending = [.. ascending.Reverse()];

        KeySelection.SelectSmallest(ascending, 100);
        KeySelection.SelectSmallest(descending, 100);

        Assert.Equal(99UL, ascending[99]);
        Assert.Equal(99UL, descending[99]);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (ulong)i), descending[..100].Order());
    }

    [Fact]
    public void CandidateKey_OrdersByLogitDescendingThenIdAscending()
    {
        (float Logit, int Id)[] items = [(1f, 5), (-0f, 2), (0f, 1), (float.NegativeInfinity, 0), (-3.5f, 9), (float.PositiveInfinity, 7), (1f, 3), (float.MaxValue, 4)];

        int[] order = [.. items.Select(t => CandidateKey.Pack(t.Logit, t.Id)).Order().Select(CandidateKey.Id)];

        Assert.Equal([7, 4, 3, 5, 1, 2, 9, 0], order);
        Assert.All(items, t => Assert.Equal(t.Logit == 0 ? 0f : t.Logit, CandidateKey.Logit(CandidateKey.Pack(t.Logit, t.Id))));
    }
}
