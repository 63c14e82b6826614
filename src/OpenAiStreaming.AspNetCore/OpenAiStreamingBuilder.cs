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
    /// concurrently. The client is also a keyed service (key: <paramref name="id"/>), owned and disposed by the container.
    /// </summary>
    /// <param name="id">The model id clients send, and <c>/v1/models</c> lists.</param>
    /// <param name="factory">Creates the chat client that serves the model.</param>
    /// <returns>This builder, to register more models.</returns>
    public OpenAiStreamingBuilder AddChatModel(string id, Func<IServiceProvider, IChatClient> factory) =>
        AddChatModel(id, factory, static _ => { });

    /// <summary>
    /// Serves <paramref name="id"/> with the chat client <paramref name="factory"/> makes, wrapped in the
    /// Microsoft.Extensions.AI pipeline that <paramref name="configurePipeline"/> composes (<c>UseOpenTelemetry</c>,
    /// <c>UseLogging</c>, ...). The endpoints and any <c>[FromKeyedServices(id)] IChatClient</c> get the outermost client.
    /// </summary>
    /// <param name="id">The model id clients send, and <c>/v1/models</c> lists.</param>
    /// <param name="factory">Creates the chat client that serves the model, innermost in the pipeline.</param>
    /// <param name="configurePipeline">Adds middleware to the model's <see cref="ChatClientBuilder"/>.</param>
    /// <returns>This builder, to register more models.</returns>
    public OpenAiStreamingBuilder AddChatModel(string id, Func<IServiceProvider, IChatClient> factory, Action<ChatClientBuilder> configurePipeline)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(configurePipeline);
        if (!_ids.Add(id))
        {
            throw new ArgumentException($"A chat model with id '{id}' is already registered.", nameof(id));
        }

        configurePipeline(Services.AddKeyedChatClient(id, factory));
        Services.AddSingleton(new ChatModelRegistration(id));
        return this;
    }
}
