using ChatServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore.Responses;

namespace OpenAiStreaming.ScaleOut.Tests;

/// <summary>The sample server keeps its responses in Redis when <c>ConnectionStrings:Redis</c> is set, and in memory otherwise.</summary>
public sealed class SampleRedisStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoSampleReplicas_WithConnectionStringsRedis_ShareBackgroundResponses()
    {
        await using var redis = await RedisServer.StartAsync();
        string[] args = ["--urls=http://127.0.0.1:0", $"--ConnectionStrings:Redis={redis.Configuration}", "--Logging:LogLevel:Default=Warning"];
        await using var first = ChatServerApp.Create(args);
        await using var second = ChatServerApp.Create(args);
        var producer = first.Services.GetRequiredService<IResponseStore>();
        var reader = second.Services.GetRequiredService<IResponseStore>();
        string id = "resp_" + Guid.NewGuid().ToString("N");
        var response = new StoredResponse { Id = id, Status = ResponseStatus.InProgress, Background = true, Json = """{"status":"in_progress"}"""u8.ToArray() };

        await using (var writer = await producer.StartAsync(response, Ct))
        {
            await writer.AppendAsync([new ResponseEvent(0, "response.created", """{"type":"response.created"}"""u8.ToArray())], null, Ct);
            await writer.CompleteAsync(new StoredResponse { Id = id, Status = ResponseStatus.Completed, Background = true, Json = """{"status":"completed"}"""u8.ToArray() }, Ct);
        }

        var events = new List<ResponseEvent>();
        await foreach (var e in reader.ReadEventsAsync(id, -1, Ct))
        {
            events.Add(e);
        }

        Assert.Equal("response.created", Assert.Single(events).Type);
        Assert.Equal(ResponseStatus.Completed, (await reader.GetAsync(id, Ct))!.Status);
        Assert.Contains("Redis", producer.GetType().Name, StringComparison.Ordinal);
    }
}
