using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

public sealed class StopSequenceFilterTests
{
    private readonly List<ChatDelta> _output = [];

    [Fact]
    public void Push_StopSplitAcrossDeltas_CutExactlyBeforeIt()
    {
        var filter = new StopSequenceFilter(["o Wo"], includeStop: false, choice: 0);

        Assert.False(filter.Push(ChatDelta.FromText("Hel"), _output));
        Assert.False(filter.Push(ChatDelta.FromText("lo W"), _output));
        Assert.Equal("Hel", Text());
        Assert.True(filter.Push(ChatDelta.FromText("orld"), _output));

        Assert.Equal("Hell", Text());
        Assert.True(filter.Stopped);
    }

    [Fact]
    public void Push_PossibleStart_HeldUntilKnownNotToBeOne()
    {
        var filter = new StopSequenceFilter(["END"], includeStop: false, choice: 0);

        filter.Push(ChatDelta.FromText("a"), _output);
        filter.Push(ChatDelta.FromText("E"), _output);
        filter.Push(ChatDelta.FromText("N"), _output);
        Assert.Equal("a", Text());

        Assert.False(filter.Push(ChatDelta.FromText("x"), _output));
        Assert.Equal("aENx", Text());
    }

    [Fact]
    public void Push_IncludeStop_StopStringKept()
    {
        var filter = new StopSequenceFilter(["##", "STOP"], includeStop: true, choice: 0);

        Assert.True(filter.Push(ChatDelta.FromText("go STOP now ##"), _output));

        Assert.Equal("go STOP", Text());
    }

    [Fact]
    public void Push_EarliestOfSeveralStops_Wins()
    {
        var filter = new StopSequenceFilter(["zz", "b"], includeStop: false, choice: 0);

        Assert.True(filter.Push(ChatDelta.FromText("abzz"), _output));

        Assert.Equal("a", Text());
    }

    [Fact]
    public void Push_CutDelta_KeepsItsLogprobAndChoice()
    {
        var filter = new StopSequenceFilter(["\n"], includeStop: false, choice: 2);

        filter.Push(ChatDelta.FromText("ok", new LogprobContent("ok", -0.5), 2), _output);
        filter.Push(ChatDelta.FromText("!\nmore", new LogprobContent("!\nmore", -1), 2), _output);

        Assert.Equal("ok!", Text());
        Assert.Equal(["ok", "!\nmore"], _output.SelectMany(d => d.Logprobs).Select(l => l.Token));
        Assert.All(_output, d => Assert.Equal(2, d.Choice));
    }

    [Fact]
    public void Flush_NoStop_ReleasesHeldText()
    {
        var filter = new StopSequenceFilter(["END"], includeStop: false, choice: 0);
        filter.Push(ChatDelta.FromText("xEN"), _output);
        Assert.Equal("", Text());

        filter.Flush(_output);

        Assert.Equal("xEN", Text());
    }

    private string Text() => string.Concat(_output.Select(d => d.Text));
}
