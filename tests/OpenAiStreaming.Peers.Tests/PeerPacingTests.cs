using OpenAiStreaming.Peers.Tests.Infrastructure;

namespace OpenAiStreaming.Peers.Tests;

/// <summary>Every peer paces tokens on absolute deadlines: token k never arrives before k × interval.</summary>
public sealed class PeerPacingTests
{
    [Theory]
    [MemberData(nameof(PeerServer.Impls), MemberType = typeof(PeerServer))]
    public async Task ChatCompletions_Interval20Ms_NoTokenArrivesBeforeItsDeadline(string impl)
    {
        const int tokens = 10;
        const double interval = 20;
        await using var peer = await PeerServer.StartAsync(impl, interval);
        using var response = await peer.PostStreamAsync(maxTokens: tokens);
        var capture = await SseCapture.ReadAllAsync(response);

        // The role chunk goes out when generation starts; each content chunk carries one token, or several merged
        // (ours, when its writer wakes late): the chunk's last token bounds when it may arrive.
        var start = capture.Events[0].At;
        string text = "";
        int delivered = 0;
        foreach (var sseEvent in capture.Events)
        {
            if (ExpectedStream.Content(sseEvent.Text) is not { } content)
            {
                continue;
            }

            text += content;
            while (delivered < tokens && string.Concat(ExpectedStream.Words.Take(delivered + 1)).Length <= text.Length)
            {
                delivered++;
            }

            int last = delivered - 1;
            double atMs = (sseEvent.At - start).TotalMilliseconds;

            // 5 ms for the role chunk's own trip, which starts the clock here a little after the peer's.
            Assert.True(atMs >= last * interval - 5, $"{impl}: token {last} arrived at {atMs:0.0} ms, before its deadline {last * interval} ms");
        }

        Assert.Equal(tokens, delivered);
        Assert.Equal(string.Concat(ExpectedStream.Words.Take(tokens)), text);
    }
}
