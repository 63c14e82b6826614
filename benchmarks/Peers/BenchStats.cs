using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Peers;

/// <summary>
/// The counters behind <c>GET /bench/stats</c>: generations started, running, completed and cancelled, and when each
/// cancelled generation's token loop stopped, on the monotonic clock the load generator also reads.
/// </summary>
internal sealed class BenchStats(string impl)
{
    private long _active;
    private long _started;
    private long _completed;
    private long _cancelled;

    /// <summary>One record per generation stopped because its client went away.</summary>
    private ConcurrentQueue<CancellationRecord> _cancellations = new();

    public void Started()
    {
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _active);
    }

    /// <summary>
    /// Ends a generation: <paramref name="completed"/> when its loop produced every token, otherwise it was cancelled
    /// and is recorded with <paramref name="benchId"/> and the time of this call.
    /// </summary>
    public void Stopped(bool completed, string? benchId)
    {
        if (completed)
        {
            Interlocked.Increment(ref _completed);
        }
        else
        {
            long stoppedNs = MonotonicNanoseconds();
            Interlocked.Increment(ref _cancelled);
            _cancellations.Enqueue(new CancellationRecord(benchId, stoppedNs));
        }

        Interlocked.Decrement(ref _active);
    }

    /// <summary>Clears the counters and the cancellation list; <c>active</c> counts what runs now, so it stays.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _started, 0);
        Interlocked.Exchange(ref _completed, 0);
        Interlocked.Exchange(ref _cancelled, 0);
        Interlocked.Exchange(ref _cancellations, new ConcurrentQueue<CancellationRecord>());
    }

    public BenchStatsResponse Snapshot() => new()
    {
        Impl = impl,
        Active = Interlocked.Read(ref _active),
        Started = Interlocked.Read(ref _started),
        Completed = Interlocked.Read(ref _completed),
        Cancelled = Interlocked.Read(ref _cancelled),
        RssBytes = ResidentSetBytes(),
        // GC.GetTotalMemory can read below zero while allocation contexts are being retired; the last GC's heap size
        // is the floor then.
        ManagedBytes = Math.Max(GC.GetTotalMemory(forceFullCollection: false), GC.GetGCMemoryInfo().HeapSizeBytes),
        ThreadPoolWorkItems = ThreadPool.CompletedWorkItemCount,
        CpuMilliseconds = Environment.CpuUsage.TotalTime.TotalMilliseconds,
        AllocatedBytes = GC.GetTotalAllocatedBytes(precise: false),
        GcPauseMilliseconds = GC.GetTotalPauseDuration().TotalMilliseconds,
        GcCollections = GC.CollectionCount(0),
        JitMethods = System.Runtime.JitInfo.GetCompiledMethodCount(),
        JitMilliseconds = System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds,
        Cancellations = [.. Volatile.Read(ref _cancellations)],
    };

    /// <summary>CLOCK_MONOTONIC in nanoseconds (on Linux, <see cref="Stopwatch"/> reads it at 1 ns resolution).</summary>
    public static long MonotonicNanoseconds() => (long)((Int128)Stopwatch.GetTimestamp() * 1_000_000_000 / Stopwatch.Frequency);

    /// <summary>VmRSS from /proc/self/status; the working set where there is no /proc.</summary>
    private static long ResidentSetBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kilobytes = line.AsSpan("VmRSS:".Length).Trim();
                    kilobytes = kilobytes[..kilobytes.IndexOf(' ')];
                    return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Environment.WorkingSet;
    }
}
