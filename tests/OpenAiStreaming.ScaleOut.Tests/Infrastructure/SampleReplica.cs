using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>
/// The sample server (samples/ChatServer) as a process on a fixed loopback port, so that it can be stopped with SIGTERM,
/// killed with SIGKILL, and started again where the proxy expects it.
/// </summary>
public sealed partial class SampleReplica : IAsyncDisposable
{
    private readonly string[] _settings;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private SampleReplica(int port, string[] settings)
    {
        Port = port;
        _settings = settings;
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>What the process wrote so far, for failure messages.</summary>
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

    /// <summary>Starts the sample on <paramref name="port"/> with extra command-line settings, and waits until it is ready.</summary>
    public static async Task<SampleReplica> StartAsync(int port, params string[] settings)
    {
        var replica = new SampleReplica(port, settings);
        try
        {
            await replica.StartAsync();
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }

        return replica;
    }

    /// <summary>Starts three replicas side by side; if one fails to start, the others are stopped before the failure is thrown.</summary>
    public static async Task<SampleReplica[]> StartThreeAsync(int[] ports, params string[] settings)
    {
        var starts = ports.Select(p => StartAsync(p, settings)).ToList();
        try
        {
            return await Task.WhenAll(starts);
        }
        catch
        {
            foreach (var start in starts.Where(t => t.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Starts the process (again) and waits (bounded) until <c>/health/ready</c> answers 200.</summary>
    public async Task StartAsync()
    {
        string serverDll = Path.Combine(AppContext.BaseDirectory, "ChatServer.dll");
        var start = new ProcessStartInfo("dotnet", [serverDll, $"--urls=http://127.0.0.1:{Port}", "--Logging:LogLevel:Default=Warning", .. _settings])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_process.HasExited, $"the sample exited at start: {Output}");
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(60), $"the sample was not ready within 60 s: {Output}");
            try
            {
                using var ready = await client.GetAsync("health/ready", TestContext.Current.CancellationToken);
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !TestContext.Current.CancellationToken.IsCancellationRequested))
            {
                // Not listening yet, or still training its model on a loaded machine.
            }

            // A process says it listens nowhere else: poll its readiness.
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>SIGTERM, as a container runtime or systemd sends it, then waits (bounded) for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Assert.Equal(0, Kill(_process!.Id, 15));
        return await WaitForExitAsync(timeout);
    }

    /// <summary>SIGKILL: the process dies at once, without draining anything.</summary>
    public async Task KillAsync()
    {
        _process!.Kill();
        await WaitForExitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process?.Dispose();
    }

    private async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process!.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"the sample did not exit within {timeout}: {Output}");
        }

        return _process.ExitCode;
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

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
