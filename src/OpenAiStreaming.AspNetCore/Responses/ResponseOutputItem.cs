using System.Text;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>One item of a response's <c>output</c>: an assistant message or a function call.</summary>
internal sealed class ResponseOutputItem
{
    public const string MessageType = "message";
    public const string FunctionCallType = "function_call";

    private ResponseOutputItem(string type, string id)
    {
        Type = type;
        Id = id;
    }

    public string Type { get; }

    /// <summary>The item's id: <c>msg_...</c> or <c>fc_...</c>.</summary>
    public string Id { get; }

    /// <summary><c>in_progress</c> while it streams, then <c>completed</c> (or <c>incomplete</c> when cut).</summary>
    public string Status { get; set; } = "in_progress";

    /// <summary>A message's text so far.</summary>
    public StringBuilder? Text { get; private init; }

    public string? CallId { get; private init; }

    public string? Name { get; private init; }

    public string? Arguments { get; private init; }

    public static ResponseOutputItem Message(string id) => new(MessageType, id) { Text = new StringBuilder() };

    public static ResponseOutputItem FunctionCall(string id, string callId, string name, string arguments) =>
        new(FunctionCallType, id) { CallId = callId, Name = name, Arguments = arguments };

    /// <summary>This item as the conversation that <c>previous_response_id</c> continues keeps it.</summary>
    public ResponseItemDto ToConversationItem() => Type == MessageType
        ? new ResponseItemDto { Type = MessageType, Id = Id, Role = "assistant", Content = ResponseConversation.TextContent(Text!.ToString()) }
        : new ResponseItemDto { Type = FunctionCallType, Id = Id, CallId = CallId, Name = Name, Arguments = Arguments };
}
