namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>Which OpenAI API a stream answers: the shapes of its chunks differ, the flow does not.</summary>
internal enum CompletionKind
{
    /// <summary><c>/v1/chat/completions</c>: <c>chat.completion.chunk</c> objects with a <c>delta</c>.</summary>
    Chat,

    /// <summary><c>/v1/completions</c>: <c>text_completion</c> objects with <c>text</c>.</summary>
    Text,
}
