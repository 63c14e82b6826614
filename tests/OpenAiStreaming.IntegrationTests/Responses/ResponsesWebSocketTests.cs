using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>WebSocket mode on <c>/v1/responses</c> with .NET's <see cref="ClientWebSocket"/>.</summary>
public sealed class ResponsesWebSocketTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoResponsesOneAfterTheOther_SameEventsAsStream_SecondContinuesFirst()
    {
        var backend = new ScriptedChatClient(["Hi", " there"], TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);
        using var socket = await ConnectAsync(app);

        await SendAsync(socket, """{"type":"response.create","model":"test-model","input":"first"}""");
        var first = await ReceiveUntilEndAsync(socket);
        string firstId = first[0].GetProperty("response").GetProperty("id").GetString()!;
        await SendAsync(socket, $$"""{"type":"response.create","model":"test-model","input":"second","previous_response_id":"{{firstId}}"}""");
        var second = await ReceiveUntilEndAsync(socket);

        Assert.Equal("response.created", first[0].GetProperty("type").GetString());
        Assert.Equal(Enumerable.Range(0, first.Count), first.Select(e => e.GetProperty("sequence_number").GetInt32()));
        Assert.Equal("response.completed", first[^1].GetProperty("type").GetString());
        Assert.Equal("Hi there", string.Concat(first.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").Select(e => e.GetProperty("delta").GetString())));
        Assert.Equal("response.completed", second[^1].GetProperty("type").GetString());
        Assert.Equal([(ChatRole.User, "first"), (ChatRole.Assistant, "Hi there"), (ChatRole.User, "second")], backend.LastMessages!.Select(m => (m.Role, m.Text)));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
    }

    [Fact]
    public async Task BadMessages_ErrorEventsAndSocketStaysUsable()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["ok"], TimeSpan.Zero));
        using var socket = await ConnectAsync(app);

        await SendAsync(socket, "not json");
        var notJson = await ReceiveAsync(socket);
        await SendAsync(socket, """{"type":"session.update"}""");
        var unknownType = await ReceiveAsync(socket);
        await SendAsync(socket, """{"type":"response.create","model":"test-model","input":"hi","temperature":7}""");
        var invalid = await ReceiveAsync(socket);
        await SendAsync(socket, """{"type":"response.create","model":"test-model","input":"hi"}""");
        var events = await ReceiveUntilEndAsync(socket);

        Assert.Equal("error", notJson.GetProperty("type").GetString());
        Assert.Equal("type", unknownType.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("temperature", invalid.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(400, invalid.GetProperty("status").GetInt32());
        Assert.Equal("response.completed", events[^1].GetProperty("type").GetString());
    }

    [Fact]
    public async Task SocketClosedMidResponse_ModelCancelled()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(2));
        await using var app = await TestApp.StartAsync(backend);
        var socket = await ConnectAsync(app);
        await SendAsync(socket, """{"type":"response.create","model":"test-model","input":"long"}""");
        for (int i = 0; i < 6; i++)
        {
            await ReceiveAsync(socket);
        }

        socket.Abort();
        socket.Dispose();

        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestApp app)
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(new Uri(app.BaseAddress, "v1/responses")) { Scheme = "ws" }.Uri;
        await socket.ConnectAsync(uri, Ct);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, Ct);

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        int count = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token);
            count += result.Count;
            if (result.EndOfMessage)
            {
                return JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone();
            }
        }
    }

    private static async Task<List<JsonElement>> ReceiveUntilEndAsync(ClientWebSocket socket)
    {
        var events = new List<JsonElement>();
        while (true)
        {
            var item = await ReceiveAsync(socket);
            events.Add(item);
            if (item.GetProperty("type").GetString() is "response.completed" or "response.incomplete" or "response.failed" or "error")
            {
                return events;
            }
        }
    }
}
