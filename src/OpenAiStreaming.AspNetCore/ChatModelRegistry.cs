using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// The chat models registered with <c>AddChatModel</c>: each a keyed <see cref="IChatClient"/> (key = model id), built
/// with its pipeline once, with the registry.
/// </summary>
internal sealed class ChatModelRegistry
{
    private readonly Dictionary<string, IChatClient> _clients;

    public ChatModelRegistry(IServiceProvider services, IEnumerable<ChatModelRegistration> registrations)
    {
        Ids = [.. registrations.Select(r => r.Id)];
        _clients = Ids.ToDictionary(id => id, services.GetRequiredKeyedService<IChatClient>, StringComparer.Ordinal);
    }

    /// <summary>The ids, in registration order.</summary>
    public IReadOnlyList<string> Ids { get; }

    public bool TryGet(string id, out IChatClient client) => _clients.TryGetValue(id, out client!);
}
