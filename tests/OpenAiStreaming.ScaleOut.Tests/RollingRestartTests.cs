using OpenAiStreaming.ScaleOut.Tests.Infrastructure;

namespace OpenAiStreaming.ScaleOut.Tests;

/// <summary>
/// A rolling restart of three sample servers behind <c>samples/deploy/haproxy-replicas.cfg</c>, one SIGTERM at a time,
/// while 100 clients keep a chat stream open each: every stream ends complete or with an error event, none truncated.
/// </summary>
public sealed class RollingRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RollingRestartThroughHaproxy_100OpenStreams_EveryStreamCompleteOrErrorEvent()
    {
        HaproxyProcess.SkipIfMissing();
        int[] ports = [Ports.Free(), Ports.Free(), Ports.Free()];
        string[] settings = ["--OpenAiStreaming:ShutdownDrainTimeout=00:00:02", "--TinyModel:TokenDelay=00:00:00.040"];
        var replicas = await SampleReplica.StartThreeAsync(ports, settings);
        try
        {
            int statsPort = Ports.Free();
            using var stats = new HaproxyStats(statsPort);
            await using var proxy = await DeployFiles.StartHaproxyAsync(ports, statsPort);
            using var client = TestApp.CreateClient(proxy.BaseAddress);
            await stats.WaitForAsync("UP", TimeSpan.FromSeconds(20), "r1", "r2", "r3");

            // 100 clients, each opening a new stream as soon as its last one ends, until the restart is over. Answers of
            // 10 to 100 tokens (0.4 to 4 s): some finish within the 2 s drain, some are cut by it.
            using var stop = new CancellationTokenSource();
            var ends = new System.Collections.Concurrent.ConcurrentBag<StreamEnd>();
            string Body(Random random) => Sse.ChatBody(model: "tiny-char-lm", extra: $",\"max_tokens\":{random.Next(10, 100)}");
            var randoms = Enumerable.Range(0, 100).Select(i => new Random(i)).ToList();
            var firstStreams = randoms.ConvertAll(random => OpenStream.Start(client, Body(random)));
            var clients = firstStreams.Select((first, i) => Task.Run(async () =>
            {
                var stream = first;
                while (true)
                {
                    var end = await stream.Ended;
                    ends.Add(end);
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    if (end == StreamEnd.Refused)
                    {
                        // As a client honours Retry-After (1 s), instead of hammering a proxy that has nowhere to send it.
                        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
                    }

                    stream = OpenStream.Start(client, Body(randoms[i]));
                }
            }, Ct)).ToList();
            await Task.WhenAll(firstStreams.Select(s => s.FirstToken)).WaitAsync(TimeSpan.FromSeconds(30), Ct);

            for (int i = 0; i < replicas.Length; i++)
            {
                int exitCode = await replicas[i].TerminateAsync(TimeSpan.FromSeconds(30));
                Assert.True(exitCode == 0, $"r{i + 1} exited with {exitCode}: {replicas[i].Output}");
                await replicas[i].StartAsync();
                await stats.WaitForAsync("UP", TimeSpan.FromSeconds(20), $"r{i + 1}");
            }

            await stop.CancelAsync();
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60), Ct);

            var counts = Enum.GetValues<StreamEnd>().ToDictionary(e => e, e => ends.Count(x => x == e));
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"rolling restart, 100 open streams: {ends.Count} streams, {counts[StreamEnd.Complete]} complete, {counts[StreamEnd.ErrorEvent]} error event, " +
                $"{counts[StreamEnd.Refused]} refused with a status, {counts[StreamEnd.Truncated]} truncated");
            Assert.Equal(0, counts[StreamEnd.Truncated]);
            Assert.Equal(0, counts[StreamEnd.Refused]);
            Assert.True(counts[StreamEnd.ErrorEvent] > 0, "the drain cut no stream: the test did not restart under load");
            Assert.True(counts[StreamEnd.Complete] > 100, $"only {counts[StreamEnd.Complete]} streams completed");
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }
}
