namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>The <c>type</c> of every response event this server writes, in the order a response uses them.</summary>
internal static class ResponseEventTypes
{
    public const string Created = "response.created";
    public const string Queued = "response.queued";
    public const string InProgress = "response.in_progress";
    public const string OutputItemAdded = "response.output_item.added";
    public const string ContentPartAdded = "response.content_part.added";
    public const string OutputTextDelta = "response.output_text.delta";
    public const string OutputTextDone = "response.output_text.done";
    public const string ContentPartDone = "response.content_part.done";
    public const string FunctionCallArgumentsDelta = "response.function_call_arguments.delta";
    public const string FunctionCallArgumentsDone = "response.function_call_arguments.done";
    public const string OutputItemDone = "response.output_item.done";
    public const string Completed = "response.completed";
    public const string Incomplete = "response.incomplete";
    public const string Failed = ResponseEvent.FailedType;
    public const string Cancelled = "response.cancelled";
    public const string Error = "error";
}
