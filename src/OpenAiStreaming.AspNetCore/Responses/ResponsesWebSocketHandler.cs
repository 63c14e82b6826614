using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using OpenAiStreaming.AspNetCore.Protocol;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// WebSocket mode on <c>/v1/responses</c>: one socket, <c>response.create</c> messages (the create body with a
/// <c>type</c>) answered one after the other with the same events as the event stream. The socket closing cancels the
/// response it runs; a bad message gets an <c>error</c> event and the socket stays open.
/// </summary>
internal static class ResponsesWebSocketHandler
{
    private const string Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>
    /// Accepts the upgrade, with the WebSockets middleware when the app uses it and without it otherwise. The server
    /// pings every <paramref name="keepAlive"/> and aborts a socket whose pong does not come back within another
    /// <paramref name="keepAlive"/>, so a client gone without a close frame is noticed (and what it started cancelled).
    /// </summary>
    /// <returns>The socket, or null when the request is no WebSocket upgrade.</returns>
    public static async Task<WebSocket?> AcceptAsync(HttpContext context, TimeSpan keepAlive)
    {
        if (context.WebSockets.IsWebSocketRequest)
        {
            return await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = keepAlive, KeepAliveTimeout = keepAlive }).ConfigureAwait(false);
        }

        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var headers = context.Request.Headers;
        string key = headers.SecWebSocketKey.ToString();
        if (upgrade is not { IsUpgradableRequest: true } || !headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase) || key.Length == 0)
        {
            return null;
        }

#pragma warning disable CA5350 // RFC 6455 defines the accept value as SHA-1 of the key: a handshake, not a security use
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + Guid)));
#pragma warning restore CA5350
        context.Response.Headers.Connection = "Upgrade";
        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers.SecWebSocketAccept = accept;
        var stream = await upgrade.UpgradeAsync().ConfigureAwait(false);
        return WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = keepAlive, KeepAliveTimeout = keepAlive });
    }

    /// <summary>Reads whole text messages until the client closes; each goes to <paramref name="messages"/>.</summary>
    public static async Task ReceiveAsync(WebSocket socket, ChannelWriter<byte[]> messages, long limit, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                buffer.Advance(result.Count);
                if (buffer.WrittenCount > limit)
                {
                    messages.TryWrite([]);
                    buffer.ResetWrittenCount();
                    continue;
                }

                if (result.EndOfMessage)
                {
                    messages.TryWrite(buffer.WrittenSpan.ToArray());
                    buffer.ResetWrittenCount();
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The connection is gone.
        }
        finally
        {
            messages.TryComplete();
        }
    }

    /// <summary>Parses one message: a <c>response.create</c> with the create body's fields.</summary>
    public static (CreateResponseRequest? Request, OpenAiError? Error) Parse(byte[] message)
    {
        if (message.Length == 0)
        {
            return (null, OpenAiError.BadRequest("The message is empty or larger than this server accepts."));
        }

        try
        {
            using var document = JsonDocument.Parse(message);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return (null, OpenAiError.BadRequest("A message must be a JSON object with a 'type': send {\"type\":\"response.create\",...}.", "type"));
            }

            if (type.GetString() != "response.create")
            {
                return (null, OpenAiError.InvalidValue("type", $"unknown message type '{type.GetString()}': only response.create is supported."));
            }
        }
        catch (JsonException)
        {
            return (null, OpenAiError.BadRequest("We could not parse the JSON of your message. Send valid JSON."));
        }

        var (request, error) = RequestReader.Parse(new ReadOnlySequence<byte>(message), ResponsesJsonContext.Default.CreateResponseRequest);
        return error is null ? (request, null) : (null, ResponseRequestValidator.FixTypeError(error));
    }

    /// <summary>Sends an <c>error</c> event for a message that could not start a response.</summary>
    public static async Task SendErrorAsync(WebSocket socket, OpenAiError error, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, ResponseObject.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, ResponseEventTypes.Error);
            writer.WriteNumber("status"u8, error.Status);
            writer.WriteStartObject("error"u8);
            writer.WriteString("type"u8, error.Type);
            writer.WriteString("code"u8, error.Code);
            writer.WriteString("message"u8, error.Message);
            writer.WriteString("param"u8, error.Param);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
    }
}
