using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// The default <see cref="IResponseStore"/>: responses and background events in this process's memory, bounded by
/// <see cref="ResponsesOptions.MaxStoredResponses"/> and <see cref="ResponsesOptions.MaxStoredBytes"/> (oldest
/// finished first) and by <see cref="ResponsesOptions.StoredResponseRetention"/>. Readers wait on a task that each
/// append completes, so a live event reaches every reader without polling.
/// </summary>
internal sealed class InMemoryResponseStore : IResponseStore, IDisposable
{
    /// <summary>What each event costs beyond its bytes (the struct, the array header), for the byte bound.</summary>
    private const int EventOverhead = 64;

    private readonly ResponsesOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <summary>Guards <see cref="_entries"/>, <see cref="_order"/> and <see cref="_bytes"/>; taken before an entry's lock, never after.</summary>
    private readonly Lock _lock = new();

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Entries oldest first: the order they are forgotten in.</summary>
    private readonly LinkedList<Entry> _order = new();

    /// <summary>Removes expired responses now and then, so memory is returned without a request for them.</summary>
    private readonly ITimer _sweep;

    private long _bytes;

    public InMemoryResponseStore(IOptions<ResponsesOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        var period = TimeSpan.FromTicks(Math.Clamp(_options.StoredResponseRetention.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        _sweep = timeProvider.CreateTimer(static state => ((InMemoryResponseStore)state!).RemoveExpired(), this, period, period);
    }

    /// <summary>How many responses are kept (for tests and the size figures).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The bytes kept, as counted against <see cref="ResponsesOptions.MaxStoredBytes"/>.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public ValueTask<IResponseEventWriter> StartAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var entry = new Entry(response.Id, response, producing: true);
        Add(entry);
        return ValueTask.FromResult<IResponseEventWriter>(new Writer(this, entry));
    }

    public ValueTask SaveAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var entry = new Entry(response.Id, response, producing: false) { ExpiresAt = ExpiryFromNow() };
        Add(entry);
        return ValueTask.CompletedTask;
    }

    public ValueTask<StoredResponse?> GetAsync(string id, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Find(id)?.Response);

    public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        Entry? entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(id, out entry))
            {
                return ValueTask.FromResult(false);
            }

            RemoveLocked(entry);
        }

        entry.Cancel.Cancel();
        Wake(entry);
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> RequestCancelAsync(string id, CancellationToken cancellationToken)
    {
        if (Find(id) is not { } entry)
        {
            return ValueTask.FromResult(false);
        }

        entry.Cancel.Cancel();
        return ValueTask.FromResult(true);
    }

    public async IAsyncEnumerable<ResponseEvent> ReadEventsAsync(string id, long startingAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Find(id) is not { Response.Background: true } entry)
        {
            yield break;
        }

        int next = (int)Math.Clamp(startingAfter + 1, 0, int.MaxValue);
        while (true)
        {
            ResponseEvent[] batch;
            Task changed;
            bool ended;
            lock (entry)
            {
                if (entry.Removed)
                {
                    yield break;
                }

                batch = next < entry.Events.Count ? entry.Events.GetRange(next, entry.Events.Count - next).ToArray() : [];
                changed = entry.Changed.Task;
                ended = entry.Ended;
            }

            foreach (var item in batch)
            {
                yield return item;
            }

            next += batch.Length;
            if (ended)
            {
                yield break;
            }

            if (batch.Length == 0)
            {
                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => _sweep.Dispose();

    private Entry? Find(string id)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(id, out var entry))
            {
                return null;
            }

            if (!entry.Producing && entry.ExpiresAt <= _timeProvider.GetUtcNow())
            {
                RemoveLocked(entry);
                return null;
            }

            return entry;
        }
    }

    private void Add(Entry entry)
    {
        lock (_lock)
        {
            if (_entries.Remove(entry.Id, out var previous))
            {
                _order.Remove(previous.Node!);
                _bytes -= previous.Bytes;
            }

            entry.Bytes = entry.Response.Size;
            _entries.Add(entry.Id, entry);
            entry.Node = _order.AddLast(entry);
            _bytes += entry.Bytes;
            EvictLocked();
        }
    }

    private void Append(Entry entry, IReadOnlyList<ResponseEvent> events, StoredResponse? response)
    {
        long added = 0;
        lock (entry)
        {
            if (entry.Ended)
            {
                throw new InvalidOperationException($"Response '{entry.Id}' has ended: nothing more can be appended.");
            }

            foreach (var item in events)
            {
                if (item.SequenceNumber != entry.Events.Count)
                {
                    throw new InvalidOperationException(
                        $"Response '{entry.Id}' expects event {entry.Events.Count} next, not {item.SequenceNumber}.");
                }

                entry.Events.Add(item);
                added += item.Data.Length + EventOverhead;
            }

            if (response is not null)
            {
                added += response.Size - entry.Response.Size;
                entry.Response = response;
            }
        }

        Account(entry, added);
        Wake(entry);
    }

    private void Complete(Entry entry, StoredResponse response)
    {
        long added;
        lock (entry)
        {
            added = response.Size - entry.Response.Size;
            entry.Response = response;
            entry.Ended = true;
            entry.Producing = false;
        }

        lock (_lock)
        {
            entry.ExpiresAt = ExpiryFromNow();
        }

        Account(entry, added);
        Wake(entry);
    }

    /// <summary>Ends a response whose producer let go of it without ending it: readers see it fail.</summary>
    private void Abandon(Entry entry)
    {
        StoredResponse failed;
        long sequence;
        lock (entry)
        {
            if (entry.Ended)
            {
                return;
            }

            failed = entry.Response.ToFailed("server_error", "The server stopped generating this response before it finished.");
            sequence = entry.Events.Count;
        }

        Append(entry, [ResponseEvent.CreateFailed(failed, sequence)], null);
        Complete(entry, failed);
    }

    private void Account(Entry entry, long added)
    {
        lock (_lock)
        {
            if (entry.Node?.List is null)
            {
                return;
            }

            entry.Bytes += added;
            _bytes += added;
            EvictLocked();
        }
    }

    private void EvictLocked()
    {
        var node = _order.First;
        while (node is not null && (_entries.Count > _options.MaxStoredResponses || _bytes > _options.MaxStoredBytes))
        {
            var next = node.Next;
            if (!node.Value.Producing)
            {
                RemoveLocked(node.Value);
            }

            node = next;
        }
    }

    private void RemoveExpired()
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            var node = _order.First;
            while (node is not null)
            {
                var next = node.Next;
                if (!node.Value.Producing && node.Value.ExpiresAt <= now)
                {
                    RemoveLocked(node.Value);
                }

                node = next;
            }
        }
    }

    private void RemoveLocked(Entry entry)
    {
        _entries.Remove(entry.Id);
        if (entry.Node?.List is not null)
        {
            _order.Remove(entry.Node);
        }

        _bytes -= entry.Bytes;
        lock (entry)
        {
            entry.Removed = true;
        }

        // Readers waiting on it find it removed; their enumeration ends without the response's last event.
        var changed = entry.Changed;
        ThreadPool.UnsafeQueueUserWorkItem(static tcs => tcs.TrySetResult(), changed, preferLocal: false);
    }

    private DateTimeOffset ExpiryFromNow() => _timeProvider.GetUtcNow() + _options.StoredResponseRetention;

    /// <summary>Wakes every reader waiting for the entry's next event.</summary>
    private static void Wake(Entry entry)
    {
        TaskCompletionSource changed;
        lock (entry)
        {
            changed = entry.Changed;
            entry.Changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>One response; its events, state and waiters are guarded by locking the entry itself.</summary>
    private sealed class Entry(string id, StoredResponse response, bool producing)
    {
        public string Id { get; } = id;

        public StoredResponse Response { get; set; } = response;

        /// <summary>Every event from 0; the index is the sequence number.</summary>
        public List<ResponseEvent> Events { get; } = [];

        /// <summary>Completed (and replaced) on each change, so waiting readers wake.</summary>
        public TaskCompletionSource Changed { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Fires when someone cancels or deletes the response.</summary>
        public CancellationTokenSource Cancel { get; } = new();

        public bool Producing { get; set; } = producing;

        public bool Ended { get; set; } = !producing;

        public bool Removed { get; set; }

        /// <summary>Bytes counted against the store's bound. Guarded by the store's lock.</summary>
        public long Bytes { get; set; }

        /// <summary>When a finished response may be forgotten. Guarded by the store's lock.</summary>
        public DateTimeOffset ExpiresAt { get; set; } = DateTimeOffset.MaxValue;

        public LinkedListNode<Entry>? Node { get; set; }
    }

    /// <summary>The producer's hold on one entry.</summary>
    private sealed class Writer(InMemoryResponseStore store, Entry entry) : IResponseEventWriter
    {
        private bool _completed;

        public string ResponseId => entry.Id;

        public CancellationToken CancellationRequested => entry.Cancel.Token;

        public ValueTask AppendAsync(IReadOnlyList<ResponseEvent> events, StoredResponse? response, CancellationToken cancellationToken)
        {
            store.Append(entry, events, response);
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(StoredResponse response, CancellationToken cancellationToken)
        {
            store.Complete(entry, response);
            _completed = true;
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            if (!_completed)
            {
                store.Abandon(entry);
            }

            return ValueTask.CompletedTask;
        }
    }
}
