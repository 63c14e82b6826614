using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore;

/// <summary>The chat models registered with <c>AddChatModel</c>, each created once, on first use.</summary>
internal sealed class ChatModelRegistry(IServiceProvider services, IEnumerable<ChatModelRegistration> registrations)
{
    private readonly Dictionary<string, Lazy<IChatClient>> _clients = registrations.ToDictionary(
        r => r.Id,
        r => new Lazy<IChatClient>(() => r.Factory(services)),
        StringComparer.Ordinal);

    /// <summary>The ids, in registration order.</summary>
    public IReadOnlyList<string> Ids { get; } = [.. registrations.Select(r => r.Id)];

    public bool TryGet(string id, out IChatClient client)
    {
        if (_clients.TryGetValue(id, out var lazy))
        {
            client = lazy.Value;
            return true;
        }

        client = null!;
        return false;
    }
}

/// <summary>One <c>AddChatModel</c> call.</summary>
internal sealed record ChatModelRegistration(string Id, Func<IServiceProvider, IChatClient> Factory);
