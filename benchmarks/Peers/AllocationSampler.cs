using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Peers;

/// <summary>
/// Counts the runtime's allocation samples (one event per about 100 KB allocated, naming the type that crossed it)
/// by type, so that <c>GET /bench/allocs</c> can say where a peer's allocated bytes go. On with <c>--alloc-sample</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const long GcKeyword = 0x1;
    private ConcurrentDictionary<string, long> _bytes = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        int type = e.PayloadNames.IndexOf("TypeName");
        int amount = e.PayloadNames.IndexOf("AllocationAmount64");
        if (type < 0 || amount < 0)
        {
            return;
        }

        long bytes = Convert.ToInt64(e.Payload![amount], CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate((string)e.Payload[type]!, bytes, (_, total) => total + bytes);
    }

    public void Reset() => _bytes = new();

    public string Report()
    {
        var rows = _bytes.ToArray();
        long total = rows.Sum(r => r.Value);
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"sampled {total} bytes\n");
        foreach (var (type, bytes) in rows.OrderByDescending(r => r.Value).Take(40))
        {
            text.Append(CultureInfo.InvariantCulture, $"{bytes,14} {100.0 * bytes / total,6:F1}% {type}\n");
        }

        return text.ToString();
    }
}
