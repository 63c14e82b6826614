using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>
/// A client process (curl, node) started for one test: stdout read line by line as it comes, each line timed; stderr
/// kept; the whole process tree killed on dispose.
/// </summary>
public sealed class ClientProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Stopwatch _clock;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;

    private ClientProcess(Process process, Stopwatch clock)
    {
        _process = process;
        _clock = clock;
        _stdoutPump = PumpStdoutAsync();
        _stderrPump = PumpStderrAsync();
    }

    /// <summary>Every stdout line, in order; completed when stdout closes.</summary>
    public Channel<TimedLine> Lines { get; } = Channel.CreateUnbounded<TimedLine>();

    /// <summary>What the process wrote to stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="fileName"/> with stdin, stdout and stderr redirected.</summary>
    /// <param name="fileName">The binary.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="environment">Variables added to the inherited environment.</param>
    /// <param name="workingDirectory">Where it runs; this process's directory when null.</param>
    /// <returns>The running process.</returns>
    public static ClientProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var clock = Stopwatch.StartNew();
        return new ClientProcess(Process.Start(info)!, clock);
    }

    /// <summary>Reads every stdout line until the process closes stdout, within <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to read; the test fails after it.</param>
    /// <returns>The lines not read before.</returns>
    public async Task<List<TimedLine>> ReadAllLinesAsync(TimeSpan timeout)
    {
        var lines = new List<TimedLine>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await foreach (var line in Lines.Reader.ReadAllAsync(cts.Token))
            {
                lines.Add(line);
            }
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"{_process.StartInfo.FileName} did not finish within {timeout}; stdout so far:\n{string.Join('\n', lines.Select(l => l.Text))}\nstderr:\n{Stderr}");
        }

        return lines;
    }

    /// <summary>Waits for the first stdout line that satisfies <paramref name="match"/>, within <paramref name="timeout"/>.</summary>
    /// <param name="match">The condition on a line's text.</param>
    /// <param name="timeout">How long to wait; the test fails after it.</param>
    /// <returns>The matching line.</returns>
    public async Task<TimedLine> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        var seen = new List<string>();
        try
        {
            await foreach (var line in Lines.Reader.ReadAllAsync(cts.Token))
            {
                seen.Add(line.Text);
                if (match(line.Text))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
        }

        Assert.Fail($"{_process.StartInfo.FileName}: no matching line within {timeout}; stdout:\n{string.Join('\n', seen)}\nstderr:\n{Stderr}");
        return null!;
    }

    /// <summary>Waits for the process to exit, within <paramref name="timeout"/>.</summary>
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
            Assert.Fail($"{_process.StartInfo.FileName} did not exit within {timeout}; stderr:\n{Stderr}");
        }

        await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(timeout, TestContext.Current.CancellationToken);
        return _process.ExitCode;
    }

    /// <summary>Closes the process's stdin (the node scripts exit on it).</summary>
    public void CloseStdin() => _process.StandardInput.Close();

    /// <summary>Kills the process tree if it still runs, and waits for it and its output readers to end.</summary>
    /// <returns>A task that completes when the process is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
        {
            // Already gone, or its pipes still closing: nothing left to clean up that the dispose below misses.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync(CancellationToken.None) is { } line)
            {
                Lines.Writer.TryWrite(new TimedLine(line, _clock.Elapsed));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process was killed under the reader.
        }
        finally
        {
            Lines.Writer.TryComplete();
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync(CancellationToken.None) is { } line)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(line);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process was killed under the reader.
        }
    }
}
