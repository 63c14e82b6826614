namespace OpenAiStreaming.Sampling.Tests;

public class SamplingSequenceTests
{
    [Fact]
    public void Constructor_RequestedSeed_ReportsIt()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 0xDEAD_BEEF_0000_0001 });

        Assert.Equal(0xDEAD_BEEF_0000_0001UL, sequence.Seed);
        Assert.Equal(0, sequence.Step);
        Assert.Equal(0, sequence.DistinctTokenCount);
    }

    [Fact]
    public void Constructor_NoSeed_DrawsDifferentSeeds()
    {
        var p = new SamplingParams();
        var seeds = new HashSet<ulong>();
        for (int i = 0; i < 100; i++)
        {
            seeds.Add(new SamplingSequence(p).Seed);
        }

        Assert.Equal(100, seeds.Count);
        Assert.Null(p.Seed);
    }

    [Fact]
    public void Constructor_InvalidParams_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new SamplingSequence(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingSequence(new SamplingParams { TopP = 2f }));
    }

    [Fact]
    public void Accept_CountsOutputAndAdvancesStep()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });

        sequence.Accept(5);
        sequence.Accept(5);
        sequence.Accept(1_000_000);
        sequence.Accept(-1);

        Assert.Equal(4, sequence.Step);
        Assert.Equal(2, sequence.GetOutputCount(5));
        Assert.Equal(1, sequence.GetOutputCount(1_000_000));
        Assert.Equal(0, sequence.GetOutputCount(-1));
        Assert.Equal(2, sequence.DistinctTokenCount);
    }

    [Fact]
    public void AddPromptTokens_DoesNotCountAsOutput()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });

        sequence.AddPromptTokens([3, 3, 4]);

        Assert.Equal(0, sequence.Step);
        Assert.Equal(0, sequence.GetOutputCount(3));
        Assert.Equal(2, sequence.DistinctTokenCount);
    }

    [Fact]
    public void Accept_ManyDistinctTokens_KeepsEveryCount()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });
        for (int round = 0; round < 3; round++)
        {
            for (int token = 0; token < 5000; token += 7)
            {
                sequence.Accept(token);
            }
        }

        Assert.Equal(715, sequence.DistinctTokenCount);
        Assert.All(Enumerable.Range(0, 5000), t => Assert.Equal(t % 7 == 0 ? 3 : 0, sequence.GetOutputCount(t)));
    }

    [Fact]
    public void History_PromptAndOutputTokens_EachOnceWithItsCounts()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });
        sequence.AddPromptTokens([3, 3, 40_000]);
        sequence.Accept(3);
        sequence.Accept(9);
        sequence.Accept(9);
        sequence.Accept(-1);

        var seen = new List<TokenOccurrence>();
        foreach (TokenOccurrence occurrence in sequence.History)
        {
            seen.Add(occurrence);
        }

        Assert.Equal(3, sequence.History.Count);
        Assert.Equal(
            [new TokenOccurrence(3, 1, InPrompt: true), new TokenOccurrence(9, 2, InPrompt: false), new TokenOccurrence(40_000, 0, InPrompt: true)],
            seen.OrderBy(o => o.Token));
    }

    [Fact]
    public void History_GrownPastItsFirstTable_EnumeratesEveryToken()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });
        for (int token = 0; token < 1000; token++)
        {
            sequence.Accept(token * 13);
        }

        var tokens = new List<int>();
        foreach (TokenOccurrence occurrence in sequence.History)
        {
            Assert.Equal(1, occurrence.OutputCount);
            tokens.Add(occurrence.Token);
        }

        Assert.Equal(Enumerable.Range(0, 1000).Select(t => t * 13), tokens.Order());
    }

    [Fact]
    public void History_NewSequenceOrDefault_Empty()
    {
        var fresh = new SamplingSequence(new SamplingParams { Seed = 1 }).History;
        TokenHistory none = default;

        Assert.Equal(0, fresh.Count);
        Assert.False(fresh.GetEnumerator().MoveNext());
        Assert.Equal(0, none.Count);
        Assert.False(none.GetEnumerator().MoveNext());
    }

    [Fact]
    public void NewSeed_IsNotConstant()
    {
        Assert.NotEqual(SamplingSequence.NewSeed(), SamplingSequence.NewSeed());
    }
}
