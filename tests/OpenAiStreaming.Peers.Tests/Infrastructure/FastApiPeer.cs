using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OpenAiStreaming.Peers.Tests.Infrastructure;

/// <summary>benchmarks/Peers/fastapi_peer.py under Debian's /usr/bin/python3, on a free loopback port.</summary>
public sealed class FastApiPeer : PeerServer
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<Task<string?>> s_missing = new(FindMissingAsync);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private FastApiPeer(Process process) => _process = process;

    public static async Task<PeerServer> StartAsync(double intervalMs)
    {
        if (await s_missing.Value is { } reason)
        {
            Assert.Skip(reason);
        }

        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            var info = new ProcessStartInfo(Python, [Script(), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--interval-ms", intervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var process = new Process { StartInfo = info };
            var peer = new FastApiPeer(process) { Impl = "fastapi", BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            process.OutputDataReceived += (_, e) => peer.Append(e.Data);
            process.ErrorDataReceived += (_, e) => peer.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await peer.WaitUntilServingAsync())
            {
                return peer;
            }

            string output = peer.Output;
            await peer.DisposeAsync();
            if (attempt == 2)
            {
                throw new InvalidOperationException($"fastapi_peer.py did not start: {output}");
            }
        }
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }

    /// <summary>The script beside the test assembly (copied there by the Peers project), else in the source tree.</summary>
    private static string Script()
    {
        string beside = Path.Combine(AppContext.BaseDirectory, "fastapi_peer.py");
        if (File.Exists(beside))
        {
            return beside;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "benchmarks", "Peers", "fastapi_peer.py");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("benchmarks/Peers/fastapi_peer.py not found.");
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<bool> WaitUntilServingAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20) && !_process.HasExited)
        {
            try
            {
                await StatsAsync();
                return true;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        return false;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
