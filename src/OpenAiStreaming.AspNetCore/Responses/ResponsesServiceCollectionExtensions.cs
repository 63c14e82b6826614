using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>The services behind <c>/v1/responses</c>, added by <c>AddOpenAiStreaming()</c>.</summary>
internal static class ResponsesServiceCollectionExtensions
{
    public static IServiceCollection AddOpenAiResponses(this IServiceCollection services)
    {
        services.AddOptions<ResponsesOptions>()
            .BindConfiguration(ResponsesOptions.SectionName)
            .Validate(o => o.MaxStoredResponses > 0, "OpenAiStreaming:Responses:MaxStoredResponses must be at least 1.")
            .Validate(o => o.MaxStoredBytes > 0, "OpenAiStreaming:Responses:MaxStoredBytes must be at least 1.")
            .Validate(o => o.StoredResponseRetention > TimeSpan.Zero, "OpenAiStreaming:Responses:StoredResponseRetention must be positive.")
            .Validate(o => o.MaxBackgroundResponses >= 0, "OpenAiStreaming:Responses:MaxBackgroundResponses must not be negative.")
            .ValidateOnStart();

        // A store registered before or after AddOpenAiStreaming() (AddRedisResponseStore) wins over the in-memory one.
        services.TryAddSingleton<IResponseStore>(sp => new InMemoryResponseStore(
            sp.GetRequiredService<IOptions<ResponsesOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<ResponsesMetrics>();
        services.TryAddSingleton<BackgroundResponseWorker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BackgroundResponseWorker>(sp => sp.GetRequiredService<BackgroundResponseWorker>()));
        services.TryAddSingleton<ResponsesEndpoints>();
        return services;
    }
}
