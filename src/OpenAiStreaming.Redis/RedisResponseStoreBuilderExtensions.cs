using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.AspNetCore.Responses;
using OpenAiStreaming.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts <c>/v1/responses</c>' response store on Redis, for several replicas.</summary>
public static class RedisResponseStoreBuilderExtensions
{
    /// <summary>
    /// Keeps responses and their events in Redis instead of memory, so that a background response generated on one
    /// replica can be read, replayed and followed through any other, and one whose replica died ends <c>failed</c>.
    /// While Redis is unreachable, new background responses get 503 with <c>Retry-After</c> and streams reading from the
    /// store end with an error event; the store reconnects by itself.
    /// </summary>
    /// <param name="builder">The builder <c>AddOpenAiStreaming()</c> returned.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>.</param>
    /// <returns>The builder.</returns>
    public static OpenAiStreamingBuilder AddRedisResponseStore(this OpenAiStreamingBuilder builder, string configuration) =>
        AddRedisResponseStore(builder, configuration, static _ => { });

    /// <summary>
    /// Keeps responses and their events in Redis, with settings beyond the connection (lease time, polling, retention).
    /// They bind first from the configuration section <c>OpenAiStreaming:Redis</c>; <paramref name="configure"/> runs after.
    /// </summary>
    /// <param name="builder">The builder <c>AddOpenAiStreaming()</c> returned.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>.</param>
    /// <param name="configure">Sets the other options.</param>
    /// <returns>The builder.</returns>
    public static OpenAiStreamingBuilder AddRedisResponseStore(this OpenAiStreamingBuilder builder, string configuration, Action<RedisResponseStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<RedisResponseStoreOptions>()
            .BindConfiguration(RedisResponseStoreOptions.SectionName)
            .Configure(o =>
            {
                o.Configuration = configuration;
                configure(o);
            })
            .Validate(o => o.LeaseTime >= TimeSpan.FromMilliseconds(300), "RedisResponseStoreOptions.LeaseTime must be at least 300 ms.")
            .Validate(o => o.PollInterval > TimeSpan.Zero, "RedisResponseStoreOptions.PollInterval must be positive.")
            .Validate(o => o.Retention > o.LeaseTime, "RedisResponseStoreOptions.Retention must be longer than the lease time.")
            .Validate(o => o.MaxEventsPerResponse > 0, "RedisResponseStoreOptions.MaxEventsPerResponse must be positive.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<RedisResponseStore>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IResponseStore>(sp => sp.GetRequiredService<RedisResponseStore>()));
        builder.Services.AddHostedService<RedisLeaseSweeper>();
        return builder;
    }
}
