using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// What a model can do beyond text, as its <see cref="IChatClient"/> reports through
/// <c>GetService(typeof(ChatModelCapabilities))</c> (pipelines pass the call to the inner client). A model that reports
/// none is taken to have none of them: requests for them get 400 <c>unsupported_parameter</c>.
/// </summary>
public sealed class ChatModelCapabilities
{
    /// <summary>A model that can do nothing beyond text.</summary>
    public static readonly ChatModelCapabilities None = new();

    /// <summary>The model reports <see cref="LogprobContent"/> for each token when the options ask for it. Default false.</summary>
    public bool Logprobs { get; init; }

    /// <summary>Reads a client's capabilities.</summary>
    /// <param name="client">The client.</param>
    /// <returns>What the client reports, or <see cref="None"/>.</returns>
    public static ChatModelCapabilities Of(IChatClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.GetService(typeof(ChatModelCapabilities)) as ChatModelCapabilities ?? None;
    }
}
