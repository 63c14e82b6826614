using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Runs background responses apart from the requests that created them, with its own admission
/// (<see cref="ResponsesOptions.MaxBackgroundResponses"/>) and a shutdown that waits for them: each runs through the
/// shared lifecycle, whose drain deadline ends what has not finished when the host stops.
/// </summary>
internal sealed class BackgroundResponseWorker(IOptions<ResponsesOptions> options) : IHostedService
{
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>Background responses queued or generating now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Takes a place for one more background response; false when the worker is full.</summary>
    public bool TryReserve()
    {
        if (Interlocked.Increment(ref _count) <= options.Value.MaxBackgroundResponses)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    /// <summary>Gives back a place taken with <see cref="TryReserve"/> that was not used.</summary>
    public void Release() => Interlocked.Decrement(ref _count);

    /// <summary>Runs a response in a place taken with <see cref="TryReserve"/>; the place is given back when it ends.</summary>
    public void Run(string id, Func<Task> response)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await response().ConfigureAwait(false);
            }
            finally
            {
                _running.TryRemove(id, out _);
                Interlocked.Decrement(ref _count);
            }
        });
        _running.TryAdd(id, task);
        if (task.IsCompleted)
        {
            _running.TryRemove(id, out _);
        }
    }

    /// <summary>The task of a response running here, or null when it runs elsewhere or has ended.</summary>
    public Task? Find(string id) => _running.TryGetValue(id, out var task) ? task : null;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Waits for the running responses; the lifecycle's drain deadline ends them in time.</summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_running.Values).WaitAsync(cancellationToken);
}
