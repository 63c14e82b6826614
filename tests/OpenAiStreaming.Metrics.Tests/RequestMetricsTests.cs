using Microsoft.Extensions.Time.Testing;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.Metrics.Tests;

/// <summary><see cref="RequestMetrics"/> against a clock that moves only when told: every duration is exact.</summary>
public sealed class RequestMetricsTests : IDisposable
{
    private readonly MetricsHarness _m = new();

    private FakeTimeProvider Time => _m.Time;

    public void Dispose() => _m.Dispose();

    [Fact]
    public void Ttft_IsArrivalToEndOfFirstContentFlush()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(100);
        Flush(request, flushMs: 25, content: false); // the role chunk: no content yet
        _m.AdvanceMilliseconds(250);
        Flush(request, flushMs: 125, content: true); // ends at 0.5 s
        _m.AdvanceMilliseconds(500);
        Flush(request, flushMs: 0, content: true);
        request.End(RequestOutcome.Completed("stop", 3, 2));

        var ttft = Assert.Single(_m.Of(TimeToFirstToken));
        Assert.Equal(0.5, ttft.Value);
        Assert.Equal("m", ttft.Tag(ModelTag));
        Assert.Equal("chat", ttft.Tag(OperationTag));
    }

    [Fact]
    public void Ttft_WholeAnswer_IsArrivalToAnswerWritten_NoTpot()
    {
        var request = _m.Start(operation: "text_completion");
        _m.AdvanceMilliseconds(750);
        request.AnswerWritten();
        _m.AdvanceMilliseconds(250);
        request.End(RequestOutcome.Completed("length", 5, 16));

        Assert.Equal(0.75, Assert.Single(_m.Of(TimeToFirstToken)).Value);
        Assert.Equal("text_completion", _m.Of(TimeToFirstToken)[0].Tag(OperationTag));
        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Equal(1.0, Assert.Single(_m.Of(RequestDuration)).Value);
    }

    [Fact]
    public void Tpot_IsFirstToLastContentOverTokensMinusOne()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(300);
        Flush(request, 0, content: true);    // first content at 0.3 s
        for (int i = 0; i < 4; i++)
        {
            _m.AdvanceMilliseconds(30);
            Flush(request, 0, content: true);
        }

        // 0.5 s from first to last content: the last flush carried 3 tokens at once (the client lagged).
        _m.AdvanceMilliseconds(380);
        Flush(request, 0, content: true);
        request.End(RequestOutcome.Completed("stop", 10, 9));

        // (0.8 - 0.3) / (9 - 1)
        Assert.Equal(0.0625, Assert.Single(_m.Of(TimePerOutputToken)).Value);
        Assert.Equal(0.3, Assert.Single(_m.Of(TimeToFirstToken)).Value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Tpot_OneTokenOrNone_NotRecorded(int outputTokens)
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(100);
        Flush(request, 0, content: true);
        _m.AdvanceMilliseconds(100);
        Flush(request, 0, content: true); // e.g. the finish chunk counted as content
        request.End(RequestOutcome.Completed("stop", 1, outputTokens));

        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Single(_m.Of(TimeToFirstToken));
    }

    [Fact]
    public void Tpot_AllTokensInOneFlush_NotRecorded()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(100);
        Flush(request, 0, content: true);
        request.End(RequestOutcome.Completed("stop", 1, 20));

        Assert.Empty(_m.Of(TimePerOutputToken));
    }

    [Fact]
    public void End_RecordsTheTotals_OnlyThen()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(100);
        Flush(request, 0, content: true);
        _m.AdvanceMilliseconds(100);
        Flush(request, 0, content: true);

        Assert.Empty(_m.Of(TimeToFirstToken));
        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Empty(_m.Of(RequestDuration));
        Assert.Empty(_m.Of(Requests));
        Assert.Empty(_m.Of(Tokens));

        _m.AdvanceMilliseconds(50);
        request.End(RequestOutcome.Completed("stop", 4, 2));

        Assert.Single(_m.Of(TimeToFirstToken));
        Assert.Equal(0.1, Assert.Single(_m.Of(TimePerOutputToken)).Value);
        Assert.Equal(0.25, Assert.Single(_m.Of(RequestDuration)).Value);
        Assert.Single(_m.Of(Requests));
        Assert.Equal(2, _m.Of(Tokens).Count);
        Assert.Equal(-1, _m.Of(ActiveStreams).Sum(a => Math.Min(a.Value, 0)));
    }

    [Fact]
    public void End_Twice_Throws_FirstOutcomeStays()
    {
        var request = _m.Start();
        request.End(RequestOutcome.Failed("timeout"));

        Assert.Throws<InvalidOperationException>(() => request.End(RequestOutcome.Disconnected()));
        Assert.Equal("timeout", Assert.Single(_m.Of(Requests)).Tag(ErrorTypeTag));
        Assert.Empty(_m.Of(ClientDisconnects));
        Assert.Equal(0, _m.Sum(ActiveStreams));
    }

    [Fact]
    public void Completed_TaggedWithFinishReason_NoErrorType()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(10);
        Flush(request, 0, content: true);
        request.End(RequestOutcome.Completed("length", 7, 1));

        foreach (var name in new[] { Requests, RequestDuration, TimeToFirstToken })
        {
            var m = Assert.Single(_m.Of(name));
            Assert.Equal("length", m.Tag(FinishReasonTag));
            Assert.False(m.Tags.ContainsKey(ErrorTypeTag), name);
            Assert.Equal("m", m.Tag(ModelTag));
            Assert.Equal("chat", m.Tag(OperationTag));
        }
    }

    [Fact]
    public void Failed_TaggedWithErrorType_OutputTokensCounted()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(10);
        Flush(request, 0, content: true);
        _m.AdvanceMilliseconds(10);
        Flush(request, 0, content: true);
        request.End(RequestOutcome.Failed("timeout", 2));

        foreach (var name in new[] { Requests, RequestDuration, TimeToFirstToken, TimePerOutputToken })
        {
            var m = Assert.Single(_m.Of(name));
            Assert.Equal("timeout", m.Tag(ErrorTypeTag));
            Assert.False(m.Tags.ContainsKey(FinishReasonTag), name);
        }

        Assert.Empty(_m.Of(ClientDisconnects));
        Assert.Equal(2, _m.Of(Tokens).Single(t => t.Tag(TokenTypeTag) == "output").Value);
    }

    [Fact]
    public void Failed_BeforeAnyContent_NoTtftNorTpot()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(40);
        Flush(request, 0, content: false);
        request.End(RequestOutcome.Failed("System.InvalidOperationException"));

        Assert.Empty(_m.Of(TimeToFirstToken));
        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Equal("System.InvalidOperationException", Assert.Single(_m.Of(RequestDuration)).Tag(ErrorTypeTag));
        Assert.Equal(0.04, _m.Of(RequestDuration)[0].Value);
    }

    [Fact]
    public void Disconnect_BeforeAnything_IsBeforeFirstToken()
    {
        var request = _m.Start();
        Assert.Equal(RequestPhase.BeforeFirstToken, request.Phase);
        Flush(request, 0, content: false); // role chunk and heartbeats do not start the stream
        request.Heartbeat();
        Flush(request, 0, content: false);
        request.End(RequestOutcome.Disconnected());

        AssertOneDisconnect("before_first_token");
    }

    [Fact]
    public void Disconnect_WhileQueued_IsWaiting()
    {
        var request = _m.Start();
        request.Queued();
        Assert.Equal(RequestPhase.Waiting, request.Phase);
        Flush(request, 0, content: false);
        request.End(RequestOutcome.Disconnected());

        AssertOneDisconnect("waiting");
    }

    [Fact]
    public void Disconnect_AfterAdmissionBeforeContent_IsBeforeFirstToken()
    {
        var request = _m.Start();
        request.Queued();
        request.Admitted();
        request.End(RequestOutcome.Disconnected());

        AssertOneDisconnect("before_first_token");
    }

    [Fact]
    public void Disconnect_AfterContent_IsStreaming()
    {
        var request = _m.Start();
        request.Queued();
        _m.AdvanceMilliseconds(10);
        request.Admitted();
        _m.AdvanceMilliseconds(10);
        Flush(request, 0, content: true);
        Assert.Equal(RequestPhase.Streaming, request.Phase);
        request.End(RequestOutcome.Disconnected(1));

        AssertOneDisconnect("streaming");
        Assert.Equal(0.02, Assert.Single(_m.Of(TimeToFirstToken)).Value);
    }

    [Fact]
    public void Disconnect_AfterWholeAnswer_IsStreaming()
    {
        var request = _m.Start();
        request.AnswerWritten();
        request.End(RequestOutcome.Disconnected());

        AssertOneDisconnect("streaming");
    }

    [Fact]
    public void Outcome_EmptyFinishReasonOrErrorType_Throws()
    {
        Assert.Throws<ArgumentException>(() => RequestOutcome.Completed("", 1, 1));
        Assert.Throws<ArgumentException>(() => RequestOutcome.Failed(""));
        Assert.True(RequestOutcome.Disconnected().IsDisconnect);
        Assert.False(RequestOutcome.Failed("timeout").IsDisconnect);
    }

    [Fact]
    public void ActiveStreams_PlusOneAtStart_MinusOneAtEnd()
    {
        var first = _m.Start("a");
        var second = _m.Start("b", "text_completion");
        Assert.Equal(2, _m.Sum(ActiveStreams));
        Assert.All(_m.Of(ActiveStreams), a => Assert.Equal(1, a.Value));

        first.End(RequestOutcome.Completed("stop", 1, 1));
        Assert.Equal(1, _m.Sum(ActiveStreams));
        second.End(RequestOutcome.Failed("rate_limited"));

        Assert.Equal(0, _m.Sum(ActiveStreams));
        Assert.Equal(4, _m.Of(ActiveStreams).Count);
        foreach (var model in new[] { "a", "b" })
        {
            var ofModel = _m.Of(ActiveStreams).Where(a => a.Tag(ModelTag) == model).ToList();
            Assert.Equal([1.0, -1.0], ofModel.Select(a => a.Value));
            Assert.All(ofModel, a => Assert.Equal(2, a.Tags.Count)); // model and operation only: the +1 and −1 meet
        }

        Assert.Equal(2, _m.Of(Requests).Count);
    }

    [Fact]
    public void QueuedRequests_PlusOneWhileWaiting_MinusOneWhenAdmittedOrEnded()
    {
        var admitted = _m.Start("a");
        var left = _m.Start("a");
        var notQueued = _m.Start("b");
        admitted.Queued();
        left.Queued();
        left.Queued(); // a second heartbeat round does not count the request twice
        Assert.Equal(2, _m.Sum(QueuedRequests));

        admitted.Admitted();
        Assert.Equal(1, _m.Sum(QueuedRequests));
        left.End(RequestOutcome.Disconnected());
        Assert.Equal(0, _m.Sum(QueuedRequests));
        admitted.End(RequestOutcome.Completed("stop", 1, 1));
        notQueued.End(RequestOutcome.Completed("stop", 1, 1));

        Assert.Equal(0, _m.Sum(QueuedRequests));
        Assert.Equal(4, _m.Of(QueuedRequests).Count);
        Assert.All(_m.Of(QueuedRequests), q => Assert.Equal("a", q.Tag(ModelTag)));
    }

    [Fact]
    public void QueueWait_IsArrivalToAdmission()
    {
        var request = _m.Start();
        request.Queued();
        _m.AdvanceMilliseconds(1250);
        request.Admitted();
        Assert.Equal(RequestPhase.BeforeFirstToken, request.Phase);
        _m.AdvanceMilliseconds(500);
        request.End(RequestOutcome.Completed("stop", 0, 0));

        var wait = Assert.Single(_m.Of(QueueWait));
        Assert.Equal(1.25, wait.Value);
        Assert.Equal("m", wait.Tag(ModelTag));
    }

    [Fact]
    public void QueueWait_NotAdmitted_NotRecorded()
    {
        var request = _m.Start();
        request.Queued();
        _m.AdvanceMilliseconds(100);
        request.End(RequestOutcome.Disconnected());

        Assert.Empty(_m.Of(QueueWait));
    }

    [Fact]
    public void InterTokenLatency_OnePerContentFlushAfterTheFirst_HeartbeatsBetweenIgnored()
    {
        var request = _m.Start();
        _m.AdvanceMilliseconds(200);
        Flush(request, 0, content: false);       // role
        Flush(request, 50, content: true);       // first content at 0.25 s: no gap yet
        _m.AdvanceMilliseconds(75);
        Flush(request, 25, content: true);       // 0.1 s after the previous content
        _m.AdvanceMilliseconds(250);
        request.Heartbeat();
        Flush(request, 0, content: false);       // a heartbeat flush in between
        _m.AdvanceMilliseconds(250);
        Flush(request, 0, content: true);        // 0.5 s after the previous content
        Flush(request, 0, content: false);       // the finish chunk
        request.End(RequestOutcome.Completed("stop", 1, 3));

        Assert.Equal([0.1, 0.5], _m.Of(InterTokenLatency).Select(m => m.Value));
        Assert.All(_m.Of(InterTokenLatency), m => Assert.Equal("m", m.Tag(ModelTag)));
        Assert.Equal(1, _m.Sum(Heartbeats));
    }

    [Fact]
    public void Flush_RecordsDurationChunksAndBytes_ContentOrNot()
    {
        var request = _m.Start();
        long start = Time.GetTimestamp();
        _m.AdvanceMilliseconds(5);
        request.Flushed(2, 300, start, hadContent: false);
        start = Time.GetTimestamp();
        Time.Advance(TimeSpan.FromTicks(1250)); // 125 µs
        request.Flushed(3, 1000, start, hadContent: true);
        request.End(RequestOutcome.Completed("stop", 0, 0));

        Assert.Equal([0.005, 0.000125], _m.Of(FlushDuration).Select(m => m.Value));
        Assert.Equal([2.0, 3.0], _m.Of(Chunks).Select(m => m.Value));
        Assert.Equal([300.0, 1000.0], _m.Of(Bytes).Select(m => m.Value));
        Assert.All(_m.Of(Bytes), m => Assert.Equal("m", m.Tag(ModelTag)));
    }

    [Fact]
    public void Heartbeats_AndCoalescedDeltas_AreCounted_ZeroCoalescedNotRecorded()
    {
        var request = _m.Start();
        request.Heartbeat();
        request.Heartbeat();
        request.Coalesced(0);
        request.Coalesced(17);
        request.End(RequestOutcome.Completed("stop", 0, 0));

        Assert.Equal(2, _m.Of(Heartbeats).Count);
        Assert.Equal(2, _m.Sum(Heartbeats));
        Assert.Equal(17, Assert.Single(_m.Of(CoalescedDeltas)).Value);
    }

    [Fact]
    public void Tokens_ByType_AtEnd_ZeroNotRecorded()
    {
        _m.Start().End(RequestOutcome.Completed("stop", 12, 34));
        _m.Start().End(RequestOutcome.Failed("rate_limited"));

        var tokens = _m.Of(Tokens);
        Assert.Equal(2, tokens.Count);
        Assert.Equal(12, tokens.Single(t => t.Tag(TokenTypeTag) == "input").Value);
        Assert.Equal(34, tokens.Single(t => t.Tag(TokenTypeTag) == "output").Value);
        Assert.All(tokens, t => Assert.Equal(3, t.Tags.Count)); // model, operation, type
    }

    [Fact]
    public void Disconnected_OutputTokensSoFar_AreCounted()
    {
        var request = _m.Start();
        Flush(request, 0, content: true);
        request.End(RequestOutcome.Disconnected(5));

        Assert.Equal(5, Assert.Single(_m.Of(Tokens)).Value);
        Assert.Equal("output", _m.Of(Tokens)[0].Tag(TokenTypeTag));
    }

    [Fact]
    public void RequestDuration_IsArrivalToEnd()
    {
        long arrival = Time.GetTimestamp();
        _m.AdvanceMilliseconds(20); // the request was parsed after it arrived
        var request = _m.Metrics.StartRequest("m", "chat", arrival, Time);
        Time.Advance(TimeSpan.FromSeconds(81.5));
        request.End(RequestOutcome.Completed("stop", 1, 1));

        Assert.Equal(81.52, Assert.Single(_m.Of(RequestDuration)).Value, 12);
    }

    /// <summary>One flush that takes <paramref name="flushMs"/> and ends now + that.</summary>
    private void Flush(RequestMetrics request, int flushMs, bool content)
    {
        long start = Time.GetTimestamp();
        _m.AdvanceMilliseconds(flushMs);
        request.Flushed(1, 100, start, content);
    }

    private void AssertOneDisconnect(string phase)
    {
        var disconnect = Assert.Single(_m.Of(ClientDisconnects));
        Assert.Equal(1, disconnect.Value);
        Assert.Equal(phase, disconnect.Tag(PhaseTag));
        Assert.Equal("m", disconnect.Tag(ModelTag));
        Assert.Equal("client_disconnected", Assert.Single(_m.Of(Requests)).Tag(ErrorTypeTag));
        Assert.Equal(0, _m.Sum(ActiveStreams));
    }
}
