using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenAiStreaming.AspNetCore.Responses;

namespace OpenAiStreaming.AspNetCore.Tests.Responses;

public sealed class InMemoryResponseStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReadEventsAsync_ReplaysAfterNumberThenFollowsLiveToTheEnd()
    {
        using var store = CreateStore(new ResponsesOptions(), new FakeTimeProvider());
        var writer = await store.StartAsync(Response("resp_1", ResponseStatus.Queued), Ct);
        await writer.AppendAsync([Event(0), Event(1), Event(2)], null, Ct);

        var read = ReadAllAsync(store, "resp_1", 0);
        await writer.AppendAsync([Event(3)], Response("resp_1", ResponseStatus.InProgress), Ct);
        await writer.AppendAsync([Event(4, "response.completed")], null, Ct);
        await writer.CompleteAsync(Response("resp_1", ResponseStatus.Completed), Ct);

        Assert.Equal([1, 2, 3, 4], (await read).Select(e => e.SequenceNumber));
        Assert.Equal(ResponseStatus.Completed, (await store.GetAsync("resp_1", Ct))!.Status);
    }

    [Fact]
    public async Task AppendAsync_GapInSequence_Throws()
    {
        using var store = CreateStore(new ResponsesOptions(), new FakeTimeProvider());
        var writer = await store.StartAsync(Response("resp_1", ResponseStatus.Queued), Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.AppendAsync([Event(1)], null, Ct).AsTask());
    }

    [Fact]
    public async Task DisposeWithoutComplete_ReadersSeeResponseFailedAndStatusFailed()
    {
        using var store = CreateStore(new ResponsesOptions(), new FakeTimeProvider());
        var writer = await store.StartAsync(Response("resp_1", ResponseStatus.InProgress), Ct);
        await writer.AppendAsync([Event(0)], null, Ct);
        var read = ReadAllAsync(store, "resp_1", -1);

        await writer.DisposeAsync();

        var events = await read;
        Assert.Equal(ResponseEvent.FailedType, events[^1].Type);
        Assert.Equal(1, events[^1].SequenceNumber);
        var failed = (await store.GetAsync("resp_1", Ct))!;
        Assert.Equal(ResponseStatus.Failed, failed.Status);
        using var json = JsonDocument.Parse(failed.Json);
        Assert.Equal("failed", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("server_error", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task RequestCancelAsync_FiresWritersToken_DeleteToo()
    {
        using var store = CreateStore(new ResponsesOptions(), new FakeTimeProvider());
        var first = await store.StartAsync(Response("resp_1", ResponseStatus.InProgress), Ct);
        var second = await store.StartAsync(Response("resp_2", ResponseStatus.InProgress), Ct);

        Assert.True(await store.RequestCancelAsync("resp_1", Ct));
        Assert.True(await store.RequestCancelAsync("resp_1", Ct));
        Assert.True(await store.DeleteAsync("resp_2", Ct));

        Assert.True(first.CancellationRequested.IsCancellationRequested);
        Assert.True(second.CancellationRequested.IsCancellationRequested);
        Assert.False(await store.RequestCancelAsync("resp_missing", Ct));
        Assert.Null(await store.GetAsync("resp_2", Ct));
    }

    [Fact]
    public async Task Retention_FinishedResponseForgottenAfterIt_ProducingOneKept()
    {
        var time = new FakeTimeProvider();
        using var store = CreateStore(new ResponsesOptions { StoredResponseRetention = TimeSpan.FromMinutes(10) }, time);
        await store.SaveAsync(Response("resp_done", ResponseStatus.Completed), Ct);
        await using var writer = await store.StartAsync(Response("resp_running", ResponseStatus.InProgress), Ct);

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.NotNull(await store.GetAsync("resp_done", Ct));
        time.Advance(TimeSpan.FromMinutes(2));

        Assert.Null(await store.GetAsync("resp_done", Ct));
        Assert.NotNull(await store.GetAsync("resp_running", Ct));
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task Bounds_CountAndBytes_OldestFinishedForgottenFirst()
    {
        using var store = CreateStore(new ResponsesOptions { MaxStoredResponses = 3, MaxStoredBytes = 10_000 }, new FakeTimeProvider());
        await using var running = await store.StartAsync(Response("resp_running", ResponseStatus.InProgress), Ct);
        for (int i = 0; i < 4; i++)
        {
            await store.SaveAsync(Response($"resp_{i}", ResponseStatus.Completed), Ct);
        }

        Assert.Equal(3, store.Count);
        Assert.NotNull(await store.GetAsync("resp_running", Ct));
        Assert.Null(await store.GetAsync("resp_0", Ct));
        Assert.Null(await store.GetAsync("resp_1", Ct));
        Assert.NotNull(await store.GetAsync("resp_3", Ct));

        await store.SaveAsync(Response("resp_big", ResponseStatus.Completed, padding: 9_000), Ct);
        Assert.True(store.Bytes <= 10_000, $"{store.Bytes} bytes kept");
        Assert.NotNull(await store.GetAsync("resp_big", Ct));
        Assert.NotNull(await store.GetAsync("resp_running", Ct));
    }

    private static InMemoryResponseStore CreateStore(ResponsesOptions options, TimeProvider time) => new(Options.Create(options), time);

    private static StoredResponse Response(string id, ResponseStatus status, int padding = 0) => new()
    {
        Id = id,
        Status = status,
        Background = true,
        Json = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","status":"{{status}}","pad":"{{new string('x', padding)}}"}"""),
    };

    private static ResponseEvent Event(long sequence, string type = "response.output_text.delta") =>
        new(sequence, type, Encoding.UTF8.GetBytes($$"""{"type":"{{type}}","sequence_number":{{sequence}}}"""));

    private static async Task<List<ResponseEvent>> ReadAllAsync(IResponseStore store, string id, long after)
    {
        var events = new List<ResponseEvent>();
        await foreach (var item in store.ReadEventsAsync(id, after, Ct).WithCancellation(Ct))
        {
            events.Add(item);
        }

        return events;
    }
}
