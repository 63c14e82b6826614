using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.Metrics.Tests;

/// <summary><see cref="RequestMetrics"/> against a clock that moves only when told: every duration is exact.</summary>
public sealed class RequestMetricsTests : IDisposable
{
    private readonly MeterRecorder _m = new();

    private ManualTimeProvider Time => _m.Time;

    public void Dispose() => _m.Dispose();

    [Fact]
    public void Ttft_IsArrivalToEndOfFirstContentFlush()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(100);
            Flush(request, flushMs: 25, content: false); // the role chunk: no content yet
            Time.AdvanceMilliseconds(250);
            Flush(request, flushMs: 125, content: true); // ends at 0.5 s
            Time.AdvanceMilliseconds(500);
            Flush(request, flushMs: 0, content: true);
            request.Completed("stop", 3, 2);
        }

        var ttft = Assert.Single(_m.Of(TimeToFirstToken));
        Assert.Equal(0.5, ttft.Value);
        Assert.Equal("m", ttft.Tag(ModelTag));
        Assert.Equal("chat", ttft.Tag(OperationTag));
    }

    [Fact]
    public void Ttft_WholeAnswer_IsArrivalToAnswerWritten_NoTpot()
    {
        using (var request = _m.Start(operation: "text_completion"))
        {
            Time.AdvanceMilliseconds(750);
            request.AnswerWritten();
            Time.AdvanceMilliseconds(250);
            request.Completed("length", 5, 16);
        }

        Assert.Equal(0.75, Assert.Single(_m.Of(TimeToFirstToken)).Value);
        Assert.Equal("text_completion", _m.Of(TimeToFirstToken)[0].Tag(OperationTag));
        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Equal(1.0, Assert.Single(_m.Of(RequestDuration)).Value);
    }

    [Fact]
    public void Tpot_IsFirstToLastContentOverTokensMinusOne()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(300);
            Flush(request, 0, content: true);    // first content at 0.3 s
            for (int i = 0; i < 4; i++)
            {
                Time.AdvanceMilliseconds(30);
                Flush(request, 0, content: true);
            }

            // 0.5 s from first to last content: the last flush carried 3 tokens at once (the client lagged).
            Time.AdvanceMilliseconds(380);
            Flush(request, 0, content: true);
            request.Completed("stop", 10, 9);
        }

        // (0.8 - 0.3) / (9 - 1)
        Assert.Equal(0.0625, Assert.Single(_m.Of(TimePerOutputToken)).Value);
        Assert.Equal(0.3, Assert.Single(_m.Of(TimeToFirstToken)).Value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Tpot_OneTokenOrNone_NotRecorded(int outputTokens)
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(100);
            Flush(request, 0, content: true);
            Time.AdvanceMilliseconds(100);
            Flush(request, 0, content: true); // e.g. the finish chunk counted as content
            request.Completed("stop", 1, outputTokens);
        }

        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Single(_m.Of(TimeToFirstToken));
    }

    [Fact]
    public void Tpot_AllTokensInOneFlush_NotRecorded()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(100);
            Flush(request, 0, content: true);
            request.Completed("stop", 1, 20);
        }

        Assert.Empty(_m.Of(TimePerOutputToken));
    }

    [Fact]
    public void TotalsAreRecordedOnlyAtDispose_OnceEvenWhenDisposedTwice()
    {
        var request = _m.Start();
        Time.AdvanceMilliseconds(100);
        Flush(request, 0, content: true);
        Time.AdvanceMilliseconds(100);
        Flush(request, 0, content: true);
        request.Completed("stop", 4, 2);

        Assert.Empty(_m.Of(TimeToFirstToken));
        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Empty(_m.Of(RequestDuration));
        Assert.Empty(_m.Of(Requests));
        Assert.Empty(_m.Of(Tokens));

        Time.AdvanceMilliseconds(50);
        request.Dispose();
        request.Dispose();

        Assert.Single(_m.Of(TimeToFirstToken));
        Assert.Equal(0.1, Assert.Single(_m.Of(TimePerOutputToken)).Value);
        Assert.Equal(0.25, Assert.Single(_m.Of(RequestDuration)).Value);
        Assert.Single(_m.Of(Requests));
        Assert.Equal(2, _m.Of(Tokens).Count);
        Assert.Equal(-1, _m.Of(ActiveStreams).Sum(a => Math.Min(a.Value, 0)));
    }

    [Fact]
    public void Completed_TaggedWithFinishReason_NoErrorType()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(10);
            Flush(request, 0, content: true);
            request.Completed("length", 7, 1);
        }

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
    public void Failed_TaggedWithErrorType_FirstFailureWins()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(10);
            Flush(request, 0, content: true);
            Time.AdvanceMilliseconds(10);
            Flush(request, 0, content: true);
            request.Failed("timeout", 2);
            request.Failed("System.InvalidOperationException", 2);
            request.Disconnected(2);
        }

        foreach (var name in new[] { Requests, RequestDuration, TimeToFirstToken, TimePerOutputToken })
        {
            var m = Assert.Single(_m.Of(name));
            Assert.Equal("timeout", m.Tag(ErrorTypeTag));
            Assert.False(m.Tags.ContainsKey(FinishReasonTag), name);
        }

        Assert.Empty(_m.Of(ClientDisconnects)); // it had already failed: not a disconnect
        Assert.Equal(2, _m.Of(Tokens).Single(t => t.Tag(TokenTypeTag) == "output").Value);
    }

    [Fact]
    public void Failed_AfterCompleted_IsAFailure()
    {
        // The answer was complete but its last flush never reached the client.
        using (var request = _m.Start())
        {
            request.Completed("stop", 3, 0);
            request.Failed("client_too_slow");
        }

        var m = Assert.Single(_m.Of(Requests));
        Assert.Equal("client_too_slow", m.Tag(ErrorTypeTag));
        Assert.False(m.Tags.ContainsKey(FinishReasonTag));
    }

    [Fact]
    public void Failed_BeforeAnyContent_NoTtftNorTpot()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(40);
            Flush(request, 0, content: false);
            request.Failed("System.InvalidOperationException");
        }

        Assert.Empty(_m.Of(TimeToFirstToken));
        Assert.Empty(_m.Of(TimePerOutputToken));
        Assert.Equal("System.InvalidOperationException", Assert.Single(_m.Of(RequestDuration)).Tag(ErrorTypeTag));
        Assert.Equal(0.04, _m.Of(RequestDuration)[0].Value);
    }

    [Fact]
    public void Disconnect_BeforeAnything_IsBeforeFirstToken()
    {
        using (var request = _m.Start())
        {
            Assert.Equal(RequestPhase.BeforeFirstToken, request.Phase);
            Flush(request, 0, content: false); // role chunk and heartbeats do not start the stream
            request.Heartbeat();
            Flush(request, 0, content: false);
            request.Disconnected();
        }

        AssertOneDisconnect("before_first_token");
    }

    [Fact]
    public void Disconnect_WhileQueued_IsWaiting()
    {
        using (var request = _m.Start())
        {
            request.Queued();
            Assert.Equal(RequestPhase.Waiting, request.Phase);
            Flush(request, 0, content: false);
            request.Disconnected();
        }

        AssertOneDisconnect("waiting");
    }

    [Fact]
    public void Disconnect_AfterAdmissionBeforeContent_IsBeforeFirstToken()
    {
        using (var request = _m.Start())
        {
            request.Queued();
            request.Admitted();
            request.Disconnected();
        }

        AssertOneDisconnect("before_first_token");
    }

    [Fact]
    public void Disconnect_AfterContent_IsStreaming_CountedOnce()
    {
        using (var request = _m.Start())
        {
            request.Queued();
            Time.AdvanceMilliseconds(10);
            request.Admitted();
            Time.AdvanceMilliseconds(10);
            Flush(request, 0, content: true);
            Assert.Equal(RequestPhase.Streaming, request.Phase);
            request.Disconnected(1);
            request.Disconnected(1);
            request.Failed("System.OperationCanceledException", 1);
        }

        AssertOneDisconnect("streaming");
        Assert.Equal(0.02, Assert.Single(_m.Of(TimeToFirstToken)).Value);
    }

    [Fact]
    public void Disconnect_AfterWholeAnswer_IsStreaming()
    {
        using (var request = _m.Start())
        {
            request.AnswerWritten();
            request.Disconnected();
        }

        AssertOneDisconnect("streaming");
    }

    [Fact]
    public void ActiveStreams_PlusOneAtStart_MinusOneAtDispose_Idempotent()
    {
        var first = _m.Start("a");
        var second = _m.Start("b", "text_completion");
        Assert.Equal(2, _m.Sum(ActiveStreams));
        Assert.All(_m.Of(ActiveStreams), a => Assert.Equal(1, a.Value));

        first.Dispose();
        first.Dispose();
        Assert.Equal(1, _m.Sum(ActiveStreams));
        second.Failed("rate_limited");
        second.Dispose();
        second.Dispose();

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
    public void QueueWait_IsArrivalToAdmission()
    {
        using (var request = _m.Start())
        {
            request.Queued();
            Time.AdvanceMilliseconds(1250);
            request.Admitted();
            Assert.Equal(RequestPhase.BeforeFirstToken, request.Phase);
            Time.AdvanceMilliseconds(500);
        }

        var wait = Assert.Single(_m.Of(QueueWait));
        Assert.Equal(1.25, wait.Value);
        Assert.Equal("m", wait.Tag(ModelTag));
    }

    [Fact]
    public void QueueWait_NotAdmitted_NotRecorded()
    {
        using (var request = _m.Start())
        {
            request.Queued();
            Time.AdvanceMilliseconds(100);
            request.Disconnected();
        }

        Assert.Empty(_m.Of(QueueWait));
    }

    [Fact]
    public void InterTokenLatency_OnePerContentFlushAfterTheFirst_HeartbeatsBetweenIgnored()
    {
        using (var request = _m.Start())
        {
            Time.AdvanceMilliseconds(200);
            Flush(request, 0, content: false);       // role
            Flush(request, 50, content: true);       // first content at 0.25 s: no gap yet
            Time.AdvanceMilliseconds(75);
            Flush(request, 25, content: true);       // 0.1 s after the previous content
            Time.AdvanceMilliseconds(250);
            request.Heartbeat();
            Flush(request, 0, content: false);       // a heartbeat flush in between
            Time.AdvanceMilliseconds(250);
            Flush(request, 0, content: true);        // 0.5 s after the previous content
            Flush(request, 0, content: false);       // the finish chunk
            request.Completed("stop", 1, 3);
        }

        Assert.Equal([0.1, 0.5], _m.Of(InterTokenLatency).Select(m => m.Value));
        Assert.All(_m.Of(InterTokenLatency), m => Assert.Equal("m", m.Tag(ModelTag)));
        Assert.Equal(1, _m.Sum(Heartbeats));
    }

    [Fact]
    public void Flush_RecordsDurationChunksAndBytes_ContentOrNot()
    {
        using (var request = _m.Start())
        {
            long start = Time.GetTimestamp();
            Time.AdvanceMilliseconds(5);
            request.Flushed(2, 300, start, hadContent: false);
            start = Time.GetTimestamp();
            Time.Advance(TimeSpan.FromTicks(1250)); // 125 µs
            request.Flushed(3, 1000, start, hadContent: true);
        }

        Assert.Equal([0.005, 0.000125], _m.Of(FlushDuration).Select(m => m.Value));
        Assert.Equal([2.0, 3.0], _m.Of(Chunks).Select(m => m.Value));
        Assert.Equal([300.0, 1000.0], _m.Of(Bytes).Select(m => m.Value));
        Assert.All(_m.Of(Bytes), m => Assert.Equal("m", m.Tag(ModelTag)));
    }

    [Fact]
    public void Heartbeats_AndCoalescedDeltas_AreCounted_ZeroCoalescedNotRecorded()
    {
        using (var request = _m.Start())
        {
            request.Heartbeat();
            request.Heartbeat();
            request.Coalesced(0);
            request.Coalesced(17);
        }

        Assert.Equal(2, _m.Of(Heartbeats).Count);
        Assert.Equal(2, _m.Sum(Heartbeats));
        Assert.Equal(17, Assert.Single(_m.Of(CoalescedDeltas)).Value);
    }

    [Fact]
    public void Tokens_ByType_AtDispose_ZeroNotRecorded()
    {
        using (var request = _m.Start())
        {
            request.Completed("stop", 12, 34);
        }

        using (var request = _m.Start())
        {
            request.Failed("rate_limited");
        }

        var tokens = _m.Of(Tokens);
        Assert.Equal(2, tokens.Count);
        Assert.Equal(12, tokens.Single(t => t.Tag(TokenTypeTag) == "input").Value);
        Assert.Equal(34, tokens.Single(t => t.Tag(TokenTypeTag) == "output").Value);
        Assert.All(tokens, t => Assert.Equal(3, t.Tags.Count)); // model, operation, type
    }

    [Fact]
    public void Disconnected_OutputTokensSoFar_AreCounted()
    {
        using (var request = _m.Start())
        {
            Flush(request, 0, content: true);
            request.Disconnected(5);
        }

        Assert.Equal(5, Assert.Single(_m.Of(Tokens)).Value);
        Assert.Equal("output", _m.Of(Tokens)[0].Tag(TokenTypeTag));
    }

    [Fact]
    public void RequestDuration_IsArrivalToDispose()
    {
        long arrival = Time.GetTimestamp();
        Time.AdvanceMilliseconds(20); // the request was parsed after it arrived
        using (var request = _m.Metrics.StartRequest("m", "chat", arrival, Time))
        {
            Time.Advance(TimeSpan.FromSeconds(81.5));
            request.Completed("stop", 1, 1);
        }

        Assert.Equal(81.52, Assert.Single(_m.Of(RequestDuration)).Value, 12);
    }

    /// <summary>One flush that takes <paramref name="flushMs"/> and ends now + that.</summary>
    private void Flush(RequestMetrics request, int flushMs, bool content)
    {
        long start = Time.GetTimestamp();
        Time.AdvanceMilliseconds(flushMs);
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
