using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Peers;

/// <summary>
/// Records every collection from the runtime's GC events: its generation, how long the threads were stopped (suspension
/// begun to restart ended), how much of that went to stopping them (suspension begun to ended) and the bytes it promoted
/// out of gen0 and gen1, the bytes its mark phase reached first from each kind of root (the runtime's GCMarkWithType
/// events: thread stacks, handles, the older generations' references into younger ones) and how long it took to mark
/// from each (the time from the event before, the collection's start for the first), and how long it took from the end
/// of marking to its end (planning, relocating, compacting), so that <c>GET /bench/gc</c> can say how the pauses are
/// spread, not only their total, and where a collection's time went. The collector also stops the threads with no
/// GCStart in between (SUSPEND_FOR_GC_PREP: a background gen2 collection's blocking phases, or a change in the number of
/// heaps): those pauses are listed apart, and any other suspension apart again, as not the collector's. On with
/// <c>--gc-log</c>.
/// </summary>
internal sealed class GcLog : EventListener
{
    private const long GcKeyword = 0x1;

    /// <summary>A pause's generation when it was not a collection's.</summary>
    private const int NoCollection = -1;

    /// <summary>SUSPEND_FOR_GC_PREP: the collector stopping the threads outside a collection (a background gen2
    /// collection's blocking phases, a change in the number of heaps), with no GCStart within the suspension.</summary>
    private const int CollectorPrepReason = 6;

    private ConcurrentQueue<Pause> _pauses = new();

    /// <summary>The condemned generation of the collection in this suspension, or <see cref="NoCollection"/> until its GCStart.</summary>
    private int _generation = NoCollection;

    /// <summary>Why the runtime stopped the threads (GCSuspendEEBegin's Reason: the runtime's SUSPEND_REASON).</summary>
    private int _reason;
    private long _promoted0;
    private long _promoted1;
    private DateTime _suspending;
    private DateTime _suspended;
    private DateTime _lastMark;
    private double _afterMarkMs;

    /// <summary>This collection's marked bytes by the runtime's root kind (0 stacks, 2 handles, 3 older generations,
    /// 6 dependent handles, the rest finalization, overflow and background roots); cleared as each collection starts.</summary>
    private readonly long[] _marked = new long[RootKinds];

    /// <summary>This collection's time marking from each root kind, in milliseconds.</summary>
    private readonly double[] _markMs = new double[RootKinds];

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
                _generation = NoCollection;
                _reason = Convert.ToInt32(Payload(e, "Reason"), CultureInfo.InvariantCulture);
                break;
            case { } name when name.StartsWith("GCSuspendEEEnd", StringComparison.Ordinal):
                _suspended = e.TimeStamp;
                break;
            case { } name when name.StartsWith("GCStart", StringComparison.Ordinal):
                _generation = Convert.ToInt32(Payload(e, "Depth"), CultureInfo.InvariantCulture);
                Array.Clear(_marked);
                Array.Clear(_markMs);
                _lastMark = e.TimeStamp;
                break;
            case { } name when name.StartsWith("GCMarkWithType", StringComparison.Ordinal):
                int kind = Convert.ToInt32(Payload(e, "Type"), CultureInfo.InvariantCulture);
                if (kind is >= 0 and < RootKinds)
                {
                    _marked[kind] += Convert.ToInt64(Payload(e, "Bytes"), CultureInfo.InvariantCulture);
                    _markMs[kind] += (e.TimeStamp - _lastMark).TotalMilliseconds;
                }

                _lastMark = e.TimeStamp;
                break;
            case { } name when name.StartsWith("GCEnd", StringComparison.Ordinal):
                _afterMarkMs = (e.TimeStamp - _lastMark).TotalMilliseconds;
                break;
            case { } name when name.StartsWith("GCHeapStats", StringComparison.Ordinal):
                _promoted0 = Convert.ToInt64(Payload(e, "TotalPromotedSize0"), CultureInfo.InvariantCulture);
                _promoted1 = Convert.ToInt64(Payload(e, "TotalPromotedSize1"), CultureInfo.InvariantCulture);
                break;
            case { } name when name.StartsWith("GCRestartEEEnd", StringComparison.Ordinal) && _suspending != default:
                _pauses.Enqueue(new Pause(
                    _generation, _reason, (e.TimeStamp - _suspending).TotalMilliseconds, (_suspended - _suspending).TotalMilliseconds, _promoted0, _promoted1,
                    ByRootKind(_marked), ByRootKind(_markMs), _afterMarkMs));
                _suspending = default;
                break;
        }
    }

    /// <summary>Stacks, handles (dependent ones too), older generations, the rest.</summary>
    private static (T Stacks, T Handles, T Older, T Other) ByRootKind<T>(T[] byKind)
        where T : System.Numerics.INumber<T> =>
        (byKind[0], byKind[2] + byKind[6], byKind[3], byKind.Aggregate(T.Zero, (a, b) => a + b) - byKind[0] - byKind[2] - byKind[6] - byKind[3]);

    /// <summary>The median of <paramref name="of"/> over <paramref name="pauses"/> (the upper one of an even count).</summary>
    private static double P50(IEnumerable<Pause> pauses, Func<Pause, double> of) => pauses.Select(of).Order().ElementAt(pauses.Count() / 2);

    private static object? Payload(EventWrittenEventArgs e, string name) =>
        e.PayloadNames?.IndexOf(name) is int i and >= 0 ? e.Payload![i] : 0;

    public void Reset() => _pauses = new();

    /// <summary>Per generation: count, pause p50 and max, mean bytes promoted, marked by root kind, the median time
    /// marking from each root kind and after marking; the collector's pauses outside collections and the runtime's
    /// other pauses; then every pause.</summary>
    public string Report()
    {
        var all = _pauses.ToArray();
        var text = new StringBuilder();
        foreach (var group in all.Where(c => c.Generation != NoCollection).GroupBy(c => c.Generation).OrderBy(g => g.Key))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"gen{group.Key}: {group.Count()} collections, pause p50 {P50(group, c => c.PauseMs):F2} ms, max {group.Max(c => c.PauseMs):F2} ms, total {group.Sum(c => c.PauseMs):F1} ms; of which suspending the threads p50 {P50(group, c => c.SuspensionMs):F2} ms, max {group.Max(c => c.SuspensionMs):F2} ms; promoted from gen0 {group.Average(c => c.Promoted0) / 1024:F0} KiB, from gen1 {group.Average(c => c.Promoted1) / 1024:F0} KiB on average; marked from stacks {group.Average(c => c.Marked.Stacks) / 1024:F0} KiB, handles {group.Average(c => c.Marked.Handles) / 1024:F0} KiB, older generations {group.Average(c => c.Marked.Older) / 1024:F0} KiB, other roots {group.Average(c => c.Marked.Other) / 1024:F0} KiB on average; marking from stacks p50 {P50(group, c => c.MarkMs.Stacks):F2} ms, handles {P50(group, c => c.MarkMs.Handles):F2} ms, older generations {P50(group, c => c.MarkMs.Older):F2} ms, other roots {P50(group, c => c.MarkMs.Other):F2} ms, after marking {P50(group, c => c.AfterMarkMs):F2} ms\n");
        }

        foreach (var group in all.Where(c => c.Generation == NoCollection).GroupBy(c => c.Reason == CollectorPrepReason))
        {
            text.Append(group.Key
                ? string.Create(CultureInfo.InvariantCulture, $"collector outside collections: {group.Count()} pauses (SUSPEND_FOR_GC_PREP: a background gen2 collection's blocking phases, or a change in the number of heaps)")
                : string.Create(CultureInfo.InvariantCulture, $"not the collector: {group.Count()} suspensions for other reasons (the runtime's reasons {string.Join(", ", group.Select(c => c.Reason).Distinct().Order())})"));
            text.Append(CultureInfo.InvariantCulture, $", pause p50 {P50(group, c => c.PauseMs):F2} ms, max {group.Max(c => c.PauseMs):F2} ms, total {group.Sum(c => c.PauseMs):F1} ms\n");
        }

        foreach (var c in all)
        {
            if (c.Generation == NoCollection)
            {
                text.Append(CultureInfo.InvariantCulture, $"{(c.Reason == CollectorPrepReason ? "prep" : "none")} {c.PauseMs,8:F2} ms {c.SuspensionMs,8:F2} ms\n");
                continue;
            }

            text.Append(CultureInfo.InvariantCulture, $"gen{c.Generation} {c.PauseMs,8:F2} ms {c.SuspensionMs,8:F2} ms {c.Promoted0 / 1024,8} KiB {c.Promoted1 / 1024,8} KiB; marked from stacks {c.Marked.Stacks / 1024} KiB in {c.MarkMs.Stacks:F2} ms, handles {c.Marked.Handles / 1024} KiB in {c.MarkMs.Handles:F2} ms, older generations {c.Marked.Older / 1024} KiB in {c.MarkMs.Older:F2} ms, other {c.Marked.Other / 1024} KiB in {c.MarkMs.Other:F2} ms; after marking {c.AfterMarkMs:F2} ms\n");
        }

        return text.ToString();
    }

    /// <summary>One suspension of the runtime: a collection's (<see cref="Generation"/> 0–2) or not.</summary>
    private readonly record struct Pause(
        int Generation, int Reason, double PauseMs, double SuspensionMs, long Promoted0, long Promoted1,
        (long Stacks, long Handles, long Older, long Other) Marked,
        (double Stacks, double Handles, double Older, double Other) MarkMs,
        double AfterMarkMs);
}
