using System.Globalization;

namespace Peers;

/// <summary>The peer's settings, from the command line (<c>--impl</c>, <c>--interval-ms</c>, <c>--model</c>,
/// <c>--alloc-sample</c>, <c>--gc-log</c>).</summary>
internal sealed class PeerOptions
{
    public static readonly string[] Impls = ["builtin", "handwritten", "ours"];

    public required string Impl { get; init; }

    /// <summary>Milliseconds between tokens; 0 (the default) never waits.</summary>
    public required double IntervalMs { get; init; }

    /// <summary>The model id the ours peer registers; the other peers echo whatever the request names.</summary>
    public required string Model { get; init; }

    /// <summary>Whether <c>GET /bench/allocs</c> counts the runtime's allocation samples by type (<c>--alloc-sample true</c>).</summary>
    public bool AllocSample { get; init; }

    /// <summary>Whether <c>GET /bench/gc</c> lists every collection's pause and promoted bytes (<c>--gc-log true</c>).</summary>
    public bool GcLog { get; init; }

    public static PeerOptions From(IConfiguration configuration)
    {
        string impl = configuration["impl"] ?? throw new ArgumentException($"--impl is required: {string.Join(", ", Impls)}.");
        if (!Impls.Contains(impl, StringComparer.Ordinal))
        {
            throw new ArgumentException($"--impl must be one of {string.Join(", ", Impls)}, not '{impl}'.");
        }

        double interval = 0;
        if (configuration["interval-ms"] is { } text
            && (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out interval) || interval < 0 || !double.IsFinite(interval)))
        {
            throw new ArgumentException($"--interval-ms must be a non-negative number, not '{text}'.");
        }

        return new PeerOptions
        {
            Impl = impl,
            IntervalMs = interval,
            Model = configuration["model"] ?? "synthetic",
            AllocSample = Flag(configuration, "alloc-sample"),
            GcLog = Flag(configuration, "gc-log"),
        };
    }

    private static bool Flag(IConfiguration configuration, string name)
    {
        bool value = false;
        if (configuration[name] is { } text && !bool.TryParse(text, out value))
        {
            throw new ArgumentException($"--{name} must be true or false, not '{text}'.");
        }

        return value;
    }
}
