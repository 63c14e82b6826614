using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.AspNetCore.Responses;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Metrics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the OpenAI-compatible streaming endpoints' services.</summary>
public static class OpenAiStreamingServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services behind <c>MapOpenAiStreaming()</c>. Options bind from the configuration section
    /// <c>OpenAiStreaming</c>, then <paramref name="configure"/> runs, and the result is validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options in code, after configuration is bound.</param>
    /// <returns>A builder to register the models with <see cref="OpenAiStreamingBuilder.AddChatModel(string, Func{IServiceProvider, Microsoft.Extensions.AI.IChatClient})"/>.</returns>
    public static OpenAiStreamingBuilder AddOpenAiStreaming(this IServiceCollection services, Action<OpenAiStreamingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<OpenAiStreamingOptions>().BindConfiguration(OpenAiStreamingOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OpenAiStreamingOptions>, OpenAiStreamingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ChatModelRegistry>();
        services.TryAddSingleton<ApiKeyValidator>();
        services.TryAddSingleton<StreamLifetime>();
        services.AddMetrics();
        services.TryAddSingleton<OpenAiStreamingMetrics>();
        services.TryAddSingleton<AdmissionControl>();
        services.TryAddSingleton<StreamingEnvironment>();

        // Streams draining after SIGTERM need the host to wait for them. The host reads its options while it is built,
        // before start-up validation: invalid options are left to that validation to report.
        services.AddOptions<HostOptions>().Configure<IOptions<OpenAiStreamingOptions>>((host, streaming) =>
        {
            TimeSpan drain;
            try
            {
                drain = streaming.Value.ShutdownDrainTimeout;
            }
            catch (OptionsValidationException)
            {
                return;
            }

            var needed = drain + TimeSpan.FromSeconds(5);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });
        services.TryAddSingleton<OpenAiEndpoints>();
        services.AddOpenAiResponses();
        return new OpenAiStreamingBuilder(services);
    }
}
