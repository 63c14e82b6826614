using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Peers;

/// <summary>
/// Records every collection from the runtime's GC events: its generation, how long the threads were stopped (suspension
/// begun to restart ended), how much of that went to stopping them (suspension begun to ended) and the bytes it promoted
/// out of gen0 and gen1, and the bytes its mark phase reached first from each kind of root (the runtime's
/// GCMarkWithType events: thread stacks, handles, the older generations' references into younger ones), so that
/// <c>GET /bench/gc</c> can say how the pauses are spread, not only their total, and where a collection's work came
/// from. On with <c>--gc-log</c>.
/// </summary>
internal sealed class GcLog : EventListener
{
    private const long GcKeyword = 0x1;
    private ConcurrentQueue<Collection> _collections = new();
    private int _generation;
    private long _promoted0;
    private long _promoted1;
    private DateTime _suspending;
    private DateTime _suspended;

    /// <summary>This collection's marked bytes by the runtime's root kind (0 stacks, 2 handles, 3 older generations,
    /// 6 dependent handles, the rest finalization, overflow and background roots); cleared as each collection starts.</summary>
    private readonly long[] _marked = new long[RootKinds];

    private const int RootKinds = 10;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Informational, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        // The runtime raises these one collection at a time, in this order, on one thread.
        switch (e.EventName)
        {
            case { } name when name.StartsWith("GCSuspendEEBegin", StringComparison.Ordinal):
                _suspending = e.TimeStamp;
                break;
            case { } name when name.StartsWith("GCSuspendEEEnd", StringComparison.Ordinal):
                _suspended = e.TimeStamp;
                break;
            case { } name when name.StartsWith("GCStart", StringComparison.Ordinal):
                _generation = Convert.ToInt32(Payload(e, "Depth"), CultureInfo.InvariantCulture);
                Array.Clear(_marked);
                break;
            case { } name when name.StartsWith("GCMarkWithType", StringComparison.Ordinal):
                int kind = Convert.ToInt32(Payload(e, "Type"), CultureInfo.InvariantCulture);
                if (kind is >= 0 and < RootKinds)
                {
                    _marked[kind] += Convert.ToInt64(Payload(e, "Bytes"), CultureInfo.InvariantCulture);
                }

                break;
            case { } name when name.StartsWith("GCHeapStats", StringComparison.Ordinal):
                _promoted0 = Convert.ToInt64(Payload(e, "TotalPromotedSize0"), CultureInfo.InvariantCulture);
                _promoted1 = Convert.ToInt64(Payload(e, "TotalPromotedSize1"), CultureInfo.InvariantCulture);
                break;
            case { } name when name.StartsWith("GCRestartEEEnd", StringComparison.Ordinal) && _suspending != default:
                _collections.Enqueue(new Collection(
                    _generation, (e.TimeStamp - _suspending).TotalMilliseconds, (_suspended - _suspending).TotalMilliseconds, _promoted0, _promoted1,
                    _marked[0], _marked[2] + _marked[6], _marked[3], _marked.Sum() - _marked[0] - _marked[2] - _marked[6] - _marked[3]));
                _suspending = default;
                break;
        }
    }

    private static object? Payload(EventWrittenEventArgs e, string name) =>
        e.PayloadNames?.IndexOf(name) is int i and >= 0 ? e.Payload![i] : 0;

    public void Reset() => _collections = new();

    /// <summary>Per generation: count, pause p50 and max, mean bytes promoted and marked by root kind; then every collection.</summary>
    public string Report()
    {
        var all = _collections.ToArray();
        var text = new StringBuilder();
        foreach (var group in all.GroupBy(c => c.Generation).OrderBy(g => g.Key))
        {
            var pauses = group.Select(c => c.PauseMs).Order().ToArray();
            var suspensions = group.Select(c => c.SuspensionMs).Order().ToArray();
            text.Append(CultureInfo.InvariantCulture,
                $"gen{group.Key}: {pauses.Length} collections, pause p50 {pauses[pauses.Length / 2]:F2} ms, max {pauses[^1]:F2} ms, total {pauses.Sum():F1} ms; of which suspending the threads p50 {suspensions[suspensions.Length / 2]:F2} ms, max {suspensions[^1]:F2} ms; promoted from gen0 {group.Average(c => c.Promoted0) / 1024:F0} KiB, from gen1 {group.Average(c => c.Promoted1) / 1024:F0} KiB on average; marked from stacks {group.Average(c => c.FromStacks) / 1024:F0} KiB, handles {group.Average(c => c.FromHandles) / 1024:F0} KiB, older generations {group.Average(c => c.FromOlder) / 1024:F0} KiB, other roots {group.Average(c => c.FromOther) / 1024:F0} KiB on average\n");
        }

        foreach (var c in all)
        {
            text.Append(CultureInfo.InvariantCulture, $"gen{c.Generation} {c.PauseMs,8:F2} ms {c.SuspensionMs,8:F2} ms {c.Promoted0 / 1024,8} KiB {c.Promoted1 / 1024,8} KiB\n");
        }

        return text.ToString();
    }

    private readonly record struct Collection(
        int Generation, double PauseMs, double SuspensionMs, long Promoted0, long Promoted1, long FromStacks, long FromHandles, long FromOlder, long FromOther);
}
