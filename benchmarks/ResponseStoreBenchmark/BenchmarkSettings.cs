using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace OpenAiStreaming.ResponseStoreBenchmark;

/// <summary>The sizes of one run; every one can be set as <c>--name value</c> on the command line.</summary>
internal sealed class BenchmarkSettings
{
    public const string Usage = """
        ResponseStoreBenchmark [--redis HOST:PORT] [--rounds 4] [--responses 48] [--tokens 100] [--interval-ms 20]
                               [--replay-readers 32] [--replays 1536]
          --redis         a Redis to use (its keys get a fresh prefix); default: start redis-server on a free loopback port
          --rounds        interleaved rounds (memory, redis, then redis, memory, ...)
          --responses     background responses generated at once in the live phase
          --tokens        output tokens of each response
          --interval-ms   the synthetic model's time between tokens
          --replay-readers  concurrent readers replaying finished responses in the replay phase
          --replays       finished responses replayed in all in the replay phase
        """;

    public string? Redis { get; private set; }

    public int Rounds { get; private set; } = 4;

    public int Responses { get; private set; } = 48;

    public int Tokens { get; private set; } = 100;

    public int IntervalMs { get; private set; } = 20;

    public int ReplayReaders { get; private set; } = 32;

    public int Replays { get; private set; } = 1536;

    public static bool TryParse(string[] args, [NotNullWhen(true)] out BenchmarkSettings? settings, [NotNullWhen(false)] out string? error)
    {
        settings = new BenchmarkSettings();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                break;
            }

            if (i + 1 >= args.Length)
            {
                error = $"{args[i]} needs a value.\n{Usage}";
                break;
            }

            string value = args[++i];
            if (args[i - 1] == "--redis")
            {
                settings.Redis = value;
                continue;
            }

            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number <= 0)
            {
                error = $"{args[i - 1]} must be a positive integer, not '{value}'.\n{Usage}";
                break;
            }

            switch (args[i - 1])
            {
                case "--rounds": settings.Rounds = number; break;
                case "--responses": settings.Responses = number; break;
                case "--tokens": settings.Tokens = number; break;
                case "--interval-ms": settings.IntervalMs = number; break;
                case "--replay-readers": settings.ReplayReaders = number; break;
                case "--replays": settings.Replays = number; break;
                default:
                    error = $"unknown option {args[i - 1]}.\n{Usage}";
                    break;
            }

            if (error is not null)
            {
                break;
            }
        }

        if (args.Contains("-h") || args.Contains("--help"))
        {
            error = Usage;
        }

        if (error is not null)
        {
            settings = null;
            return false;
        }

        return true;
    }
}
