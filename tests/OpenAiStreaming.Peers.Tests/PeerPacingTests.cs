using OpenAiStreaming.Peers.Tests.Infrastructure;

namespace OpenAiStreaming.Peers.Tests;

/// <summary>Every peer paces tokens <c>--interval-ms</c> apart, on absolute deadlines.</summary>
public sealed class PeerPacingTests
{
    [Theory]
    [MemberData(nameof(PeerServer.Impls), MemberType = typeof(PeerServer))]
    public async Task ChatCompletions_Interval20Ms_NoTokenArrivesBeforeItsDeadline(string impl)
    {
        const int tokens = 10;
        const double interval = 20;
        await using var peer = await PeerServer.StartAsync(impl, interval);

        // A first stream warms the peer up (JIT): a peer that did not pace would then send all tokens within milliseconds.
        using (var warmUp = await peer.PostStreamAsync(maxTokens: 2))
        {
            await SseCapture.ReadAllAsync(warmUp);
        }

        // The peer's generation starts after the request is sent: token k cannot arrive sooner than k intervals after.
        long sent = System.Diagnostics.Stopwatch.GetTimestamp();
        using var response = await peer.PostStreamAsync(maxTokens: tokens);
        var capture = await SseCapture.ReadAllAsync(response, sent);

        // When each token arrived: a chunk carries one token, or several merged (ours, when its writer wakes late).
        var arrivals = new List<double>();
        string text = "";
        foreach (var sseEvent in capture.Events)
        {
            if (ExpectedStream.Content(sseEvent.Data) is not { } content)
            {
                continue;
            }

            text += content;
            while (arrivals.Count < tokens && string.Concat(ExpectedStream.Words.Take(arrivals.Count + 1)).Length <= text.Length)
            {
                arrivals.Add(sseEvent.At.TotalMilliseconds);
            }
        }

        Assert.Equal(string.Concat(ExpectedStream.Words.Take(tokens)), text);
        Assert.Equal(tokens, arrivals.Count);

        // A stalled machine can only make tokens later, so this holds however loaded the machine is; without pacing,
        // all ten would arrive within a few milliseconds.
        for (int k = 1; k < tokens; k++)
        {
            Assert.True(arrivals[k] >= k * interval, $"{impl}: token {k} arrived {arrivals[k]:0.0} ms after the request, before its deadline {k * interval} ms");
        }
    }
}
