using System.Diagnostics;
using System.Text;
using OpenAiStreaming.Testing.Hosting;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>
/// A real server process (nginx, Caddy, HAProxy, the FastAPI peer) started for one test in its own temp directory on
/// a free loopback port; killed, with its children, and cleaned up on dispose. The per-server classes
/// (<see cref="NginxProcess"/>, <see cref="CaddyProcess"/>, <see cref="HaproxyProcess"/>) say how to configure and
/// start each proxy.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>http://127.0.0.1:port/ of the port the process was given.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

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

    /// <summary>
    /// Picks a free port and a temp directory, lets <paramref name="prepare"/> write the config there and say how to
    /// start the binary, and waits (bounded) until the port accepts connections. Tries three ports before failing:
    /// another process may take the free port before this one binds it.
    /// </summary>
    /// <param name="name">The server's name, for messages and the temp directory.</param>
    /// <param name="prepare">(directory, port) → the start info; it writes its config files into the directory, where the
    /// process runs unless the start info names another working directory.</param>
    /// <param name="logFile">A log file in the directory to quote when the server does not start (nginx's error.log).</param>
    /// <param name="startTimeout">How long the server may take to listen; 10 seconds when null.</param>
    /// <returns>The listening server.</returns>
    public static async Task<ServerProcess> StartAsync(string name, Func<string, int, ProcessStartInfo> prepare, string? logFile = null, TimeSpan? startTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(prepare);
        for (int attempt = 0; ; attempt++)
        {
            int port = Ports.Free();
            string directory = Directory.CreateTempSubdirectory($"{name}-test-").FullName;
            var startInfo = prepare(directory, port);
            startInfo.RedirectStandardError = true;
            startInfo.RedirectStandardOutput = true;
            startInfo.UseShellExecute = false;
            if (string.IsNullOrEmpty(startInfo.WorkingDirectory))
            {
                startInfo.WorkingDirectory = directory;
            }

            var process = new Process { StartInfo = startInfo };
            var server = new ServerProcess(process, directory, port);
            process.OutputDataReceived += (_, e) => server.Append(e.Data);
            process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await Ports.WaitUntilListeningAsync(port, () => process.HasExited, startTimeout ?? TimeSpan.FromSeconds(10)))
            {
                return server;
            }

            string log = logFile is not null && File.Exists(Path.Combine(directory, logFile)) ? File.ReadAllText(Path.Combine(directory, logFile)) : "";
            string output = server.Output;
            await server.DisposeAsync();
            if (attempt == 2)
            {
                throw new InvalidOperationException($"{name} did not start: {log}{output}");
            }
        }
    }

    /// <summary>Waits for the process to exit by itself, within <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to wait; the test fails after it.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"{_process.StartInfo.FileName} did not exit within {timeout}; output:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Kills the process tree, waits for it to exit and deletes the temp directory.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
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
}
