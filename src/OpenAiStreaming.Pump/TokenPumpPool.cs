using Microsoft.Extensions.ObjectPool;

namespace OpenAiStreaming.Pump;

/// <summary>
/// Pumps with one merger and one set of options, reused from one stream to the next: a pump started here goes back to
/// the pool when <see cref="TokenPump{T}.DisposeAsync"/> has finished, with its queue, lock, wait, idle timer and (when
/// it was not cancelled) its token source, so that a server's streams do not each allocate these at their start and
/// carry them, young, through every collection for as long as they are open (docs/benchmarks.md, the far tail at
/// thousands of streams).
/// </summary>
/// <typeparam name="T">The delta type.</typeparam>
/// <remarks>
/// Only enumerable producers: a pump started here is disposed by its one owner once, and neither it nor its
/// <see cref="TokenPump{T}.ProducerToken"/> is used after that, by the owner or by the producer (whose enumerator the
/// pump has disposed by then). Pushing pumps (<see cref="TokenPump{T}.Create"/>) are never pooled: a model loop may
/// still hold one after its stream has ended. Thread-safe.
/// </remarks>
public sealed class TokenPumpPool<T>
{
    private readonly DefaultObjectPool<TokenPump<T>> _pumps;

    /// <summary>Creates a pool.</summary>
    /// <param name="merger">Merges and sizes deltas, for every pump.</param>
    /// <param name="options">Every pump's options, read once here; null for the defaults.</param>
    /// <param name="maximumRetained">The most idle pumps kept; more are dropped as they come back. Default 1,024.</param>
    public TokenPumpPool(IDeltaMerger<T> merger, TokenPumpOptions? options = null, int maximumRetained = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumRetained, 1);
        options ??= new TokenPumpOptions();
        var policy = new Policy(merger, new TokenPumpOptions
        {
            Capacity = options.Capacity,
            MaxBufferedBytes = options.MaxBufferedBytes,
            TimeProvider = options.TimeProvider,
            StartOnFirstWait = options.StartOnFirstWait,
        }, this);

        // The first pump checks the merger and the options now rather than at the first stream.
        _pumps = new DefaultObjectPool<TokenPump<T>>(policy, maximumRetained);
        _pumps.Return(policy.Create());
    }

    /// <summary>
    /// <see cref="TokenPump{T}.Start"/> with a pump from this pool; it comes back here once disposed.
    /// </summary>
    /// <param name="source">Creates the deltas; receives the producer token and must honour it.</param>
    /// <param name="cancellationToken">Stops the producer when cancelled, typically the request's aborted token.</param>
    /// <returns>The running pump; dispose it once to stop and await the producer and give it back.</returns>
    public TokenPump<T> Start(Func<CancellationToken, IAsyncEnumerable<T>> source, CancellationToken cancellationToken = default) =>
        TokenPump<T>.StartPooled(this, source, static item => item, cancellationToken);

    /// <summary>
    /// <see cref="TokenPump{T}.StartSelecting"/> with a pump from this pool; it comes back here once disposed.
    /// </summary>
    /// <typeparam name="TSource">The source's item type.</typeparam>
    /// <param name="source">Creates the items; receives the producer token and must honour it.</param>
    /// <param name="selector">Makes a delta of an item.</param>
    /// <param name="cancellationToken">Stops the producer when cancelled, typically the request's aborted token.</param>
    /// <returns>The running pump; dispose it once to stop and await the producer and give it back.</returns>
    public TokenPump<T> StartSelecting<TSource>(
        Func<CancellationToken, IAsyncEnumerable<TSource>> source, Func<TSource, T> selector, CancellationToken cancellationToken = default) =>
        TokenPump<T>.StartPooled(this, source, selector, cancellationToken);

    /// <summary>An idle pump, or a new one.</summary>
    internal TokenPump<T> Rent() => _pumps.Get();

    /// <summary>Takes back a pump made as new.</summary>
    internal void Return(TokenPump<T> pump) => _pumps.Return(pump);

    /// <summary>Makes the pool's pumps; takes every one back.</summary>
    private sealed class Policy(IDeltaMerger<T> merger, TokenPumpOptions options, TokenPumpPool<T> pool) : PooledObjectPolicy<TokenPump<T>>
    {
        public override TokenPump<T> Create() => new(merger, options, pool);

        public override bool Return(TokenPump<T> obj) => true;
    }
}
