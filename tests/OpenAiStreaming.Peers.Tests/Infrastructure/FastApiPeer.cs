using System.Diagnostics;
using System.Globalization;
using OpenAiStreaming.Testing;

namespace OpenAiStreaming.Peers.Tests.Infrastructure;

/// <summary>benchmarks/Peers/fastapi_peer.py under Debian's /usr/bin/python3, on a free loopback port.</summary>
public sealed class FastApiPeer : PeerServer
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<Task<string?>> s_missing = new(FindMissingAsync);

    private readonly ServerProcess _process;

    private FastApiPeer(ServerProcess process) => _process = process;

    public static async Task<PeerServer> StartAsync(double intervalMs)
    {
        if (await s_missing.Value is { } reason)
        {
            Assert.Skip(reason);
        }

        var process = await ServerProcess.StartAsync(
            "fastapi",
            (_, port) => new ProcessStartInfo(Python, [Script(), "--port", port.ToString(CultureInfo.InvariantCulture),
                "--interval-ms", intervalMs.ToString(CultureInfo.InvariantCulture)]),
            startTimeout: TimeSpan.FromSeconds(20));
        return new FastApiPeer(process) { Impl = "fastapi", BaseAddress = process.BaseAddress };
    }

    public override ValueTask DisposeAsync() => _process.DisposeAsync();

    /// <summary>The script beside the test assembly (copied there by the Peers project), else in the source tree.</summary>
    private static string Script()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "fastapi_peer.py");
        return File.Exists(beside) ? beside : Path.Combine(Repository.Root, "benchmarks", "Peers", "fastapi_peer.py");
    }

    /// <summary>Null when /usr/bin/python3 imports fastapi and uvicorn; otherwise why the FastAPI peer cannot run.</summary>
    private static async Task<string?> FindMissingAsync()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is not installed (the FastAPI peer needs Debian's python3-fastapi and python3-uvicorn).";
        }

        using var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import fastapi, uvicorn"])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        string error = await check.StandardError.ReadToEndAsync();
        await check.WaitForExitAsync();
        return check.ExitCode == 0
            ? null
            : $"{Python} cannot import fastapi and uvicorn (apt-get install python3-fastapi python3-uvicorn): {error.Trim().Split('\n')[^1]}";
    }
}
