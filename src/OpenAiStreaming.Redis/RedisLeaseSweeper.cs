using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.Redis;

/// <summary>
/// On every replica, every half lease time: ends <c>failed</c> each response whose producer's lease expired, so that a
/// response whose replica died ends even when nobody reads it. Scripts make the end happen once whichever replica
/// gets there first.
/// </summary>
internal sealed class RedisLeaseSweeper(RedisResponseStore store, IOptions<RedisResponseStoreOptions> options, TimeProvider timeProvider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LeaseTime / 2, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await store.SweepAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (RedisResponseStore.IsUnavailable(ex))
            {
                RedisResponseStoreLog.SweepFailed(store.Logger, ex);
            }
        }
    }
}
