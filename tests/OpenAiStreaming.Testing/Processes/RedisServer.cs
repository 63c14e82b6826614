using System.Diagnostics;
using System.Text;
using OpenAiStreaming.Testing.Hosting;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>A real redis-server (the Debian package) on a free loopback port, without persistence, that a test can kill and start again on the same port.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>The redis-server binary, or null when it is not installed.</summary>
    public static string? Binary { get; } = Executables.Find("redis-server", "/usr/bin/redis-server", "/usr/local/bin/redis-server");

    private readonly string _directory = Directory.CreateTempSubdirectory("redis-test-").FullName;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisServer(int port) => Port = port;

    /// <summary>The loopback port it listens on, the same after <see cref="StartAgainAsync"/>.</summary>
    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts redis-server on a free port, skipping the test when it is not installed (.ci/run installs it).</summary>
    /// <returns>The running server.</returns>
    public static async Task<RedisServer> StartAsync()
    {
        Executables.SkipIfMissing(Binary, "redis-server");
        var server = new RedisServer(Ports.Free());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its port and waits (bounded) until it accepts connections.</summary>
    /// <returns>A task that completes when it listens.</returns>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Binary!, ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var process = _process;
        Assert.True(await Ports.WaitUntilListeningAsync(Port, () => process.HasExited, TimeSpan.FromSeconds(10)), $"redis-server did not start: {_output}");
    }

    /// <summary>SIGKILL: Redis is gone at once, with everything it held.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
    public async Task KillAsync()
    {
        _process!.Kill();
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The system cleans its temp folder.
        }
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
