namespace OpenAiStreaming.AspNetCore;

/// <summary>One <c>AddChatModel</c> call: the id under which its client is a keyed service.</summary>
internal sealed record ChatModelRegistration(string Id);
