using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>
/// A real reverse proxy (nginx, Caddy, HAProxy: the Debian packages) started for one test in its own temp directory on
/// a free loopback port; killed, with its children, and cleaned up on dispose. The per-proxy classes
/// (<see cref="NginxProcess"/>, <see cref="CaddyProcess"/>, <see cref="HaproxyProcess"/>) say how to configure and start
/// each one.
/// </summary>
public sealed class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private ProxyProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri BaseAddress { get; }

    /// <summary>What the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The first of <paramref name="candidates"/> that exists, or null.</summary>
    public static string? Find(params string[] candidates) => candidates.FirstOrDefault(File.Exists);

    /// <summary>
    /// Picks a free port and a temp directory, lets <paramref name="prepare"/> write the config there and say how to
    /// start the binary, and waits (bounded) until the port accepts connections. Tries three ports before failing.
    /// </summary>
    /// <param name="name">the proxy's name, for messages and the temp directory</param>
    /// <param name="prepare">(directory, port) → the start info; it writes its config files into the directory</param>
    /// <param name="logFile">a log file in the directory to quote when the proxy does not start (nginx's error.log)</param>
    public static async Task<ProxyProcess> StartAsync(string name, Func<string, int, ProcessStartInfo> prepare, string? logFile = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = Ports.Free();
            string directory = Directory.CreateTempSubdirectory($"{name}-test-").FullName;
            var startInfo = prepare(directory, port);
            startInfo.RedirectStandardError = true;
            startInfo.RedirectStandardOutput = true;
            startInfo.WorkingDirectory = directory;
            var process = new Process { StartInfo = startInfo };
            var proxy = new ProxyProcess(process, directory, port);
            process.OutputDataReceived += (_, e) => proxy.Append(e.Data);
            process.ErrorDataReceived += (_, e) => proxy.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await proxy.WaitUntilListeningAsync(TimeSpan.FromSeconds(10)))
            {
                return proxy;
            }

            string log = logFile is not null && File.Exists(Path.Combine(directory, logFile)) ? File.ReadAllText(Path.Combine(directory, logFile)) : "";
            string output = proxy.Output;
            await proxy.DisposeAsync();
            if (attempt == 2)
            {
                throw new InvalidOperationException($"{name} did not start: {log}{output}");
            }
        }
    }

    public async ValueTask DisposeAsync()
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
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A worker still closing a temp file; the temp folder is cleaned by the system.
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task<bool> WaitUntilListeningAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !_process.HasExited)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, BaseAddress.Port), TestContext.Current.CancellationToken);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }

        return false;
    }
}
