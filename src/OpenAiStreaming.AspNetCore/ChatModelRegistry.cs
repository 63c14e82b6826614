using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore;

/// <summary>The chat models registered with <c>AddChatModel</c>, each created once, with the registry.</summary>
internal sealed class ChatModelRegistry(IServiceProvider services, IEnumerable<ChatModelRegistration> registrations)
{
    private readonly Dictionary<string, IChatClient> _clients =
        registrations.ToDictionary(r => r.Id, r => r.Factory(services), StringComparer.Ordinal);

    /// <summary>The ids, in registration order.</summary>
    public IReadOnlyList<string> Ids { get; } = [.. registrations.Select(r => r.Id)];

    public bool TryGet(string id, out IChatClient client) => _clients.TryGetValue(id, out client!);
}

/// <summary>One <c>AddChatModel</c> call.</summary>
internal sealed record ChatModelRegistration(string Id, Func<IServiceProvider, IChatClient> Factory);
