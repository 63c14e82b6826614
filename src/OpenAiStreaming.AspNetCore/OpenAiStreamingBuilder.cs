using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace OpenAiStreaming.AspNetCore;

/// <summary>Registers the models served by the OpenAI-compatible endpoints.</summary>
public sealed class OpenAiStreamingBuilder
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    internal OpenAiStreamingBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection the endpoints are registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Serves <paramref name="id"/> (the request's <c>model</c> field) with the chat client <paramref name="factory"/>
    /// makes. The factory runs once, when the endpoints handle their first request; the client must be safe to call
    /// concurrently.
    /// </summary>
    /// <param name="id">The model id clients send, and <c>/v1/models</c> lists.</param>
    /// <param name="factory">Creates the chat client that serves the model.</param>
    /// <returns>This builder, to register more models.</returns>
    public OpenAiStreamingBuilder AddChatModel(string id, Func<IServiceProvider, IChatClient> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(factory);
        if (!_ids.Add(id))
        {
            throw new ArgumentException($"A chat model with id '{id}' is already registered.", nameof(id));
        }

        Services.AddSingleton(new ChatModelRegistration(id, factory));
        return this;
    }
}
