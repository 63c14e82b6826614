using System.Globalization;
using OpenAiStreaming.LoadGenerator.Running;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>
/// Shows a running benchmark's progress on stderr. On a terminal: a bar redrawn in place four times a second, from
/// two seconds into the run (short runs stay quiet). Elsewhere (CI logs): one line every five seconds.
/// </summary>
public sealed class ProgressDisplay
{
    private readonly Func<RunProgress> _progress;
    private readonly TextWriter _output;
    private readonly bool _terminal;
    private readonly int? _total;
    private readonly TimeSpan? _duration;
    private readonly TimeProvider _time;

    /// <summary>Creates a display.</summary>
    /// <param name="progress">Reads the run's counters.</param>
    /// <param name="output">Where to write (stderr).</param>
    /// <param name="terminal">Whether the output is a terminal (redraw in place) or a log (a line at a time).</param>
    /// <param name="total">Requests the run will send, when counted.</param>
    /// <param name="duration">The run's duration, when timed.</param>
    /// <param name="time">The clock; null: the system's.</param>
    public ProgressDisplay(Func<RunProgress> progress, TextWriter output, bool terminal, int? total, TimeSpan? duration, TimeProvider? time = null)
    {
        _progress = progress;
        _output = output;
        _terminal = terminal;
        _total = total;
        _duration = duration;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Shows progress until <paramref name="cancellationToken"/> is cancelled, then clears the bar.</summary>
    /// <param name="delayFirst">Wait this long before the first display.</param>
    /// <param name="cancellationToken">Ends the display.</param>
    /// <returns>A task that completes when the display has ended.</returns>
    public async Task RunAsync(TimeSpan delayFirst, CancellationToken cancellationToken)
    {
        bool shown = false;
        try
        {
            await Task.Delay(delayFirst, _time, cancellationToken).ConfigureAwait(false);
            var period = _terminal ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(5);
            using var timer = new PeriodicTimer(period, _time);
            do
            {
                string line = Format(_progress());
                if (_terminal)
                {
                    _output.Write("\r" + line.PadRight(100));
                }
                else
                {
                    _output.WriteLine(line);
                }

                _output.Flush();
                shown = true;
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }

        if (shown && _terminal)
        {
            _output.Write("\r" + new string(' ', 100) + "\r");
            _output.Flush();
        }
    }

    /// <summary>One line describing <paramref name="p"/>.</summary>
    /// <param name="p">The counters.</param>
    /// <returns>The line.</returns>
    public string Format(RunProgress p)
    {
        double fraction = _total is { } total && total > 0 ? (double)(p.Ok + p.Errors) / total
            : _duration is { } d && d > TimeSpan.Zero ? p.Elapsed / d
            : 0;
        fraction = Math.Clamp(fraction, 0, 1);
        const int width = 24;
        int filled = (int)(fraction * width);
        string bar = _terminal ? "[" + new string('#', filled) + new string('.', width - filled) + "] " : string.Empty;
        double seconds = p.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? p.Events / seconds : 0;
        string of = _total is { } t ? "/" + t.ToString(CultureInfo.InvariantCulture) : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"{bar}{fraction * 100,3:0}% {seconds:0.0}s  done {p.Ok + p.Errors}{of}  in flight {p.Sent - p.Ok - p.Errors}  errors {p.Errors}  events {p.Events:N0} ({rate:N0}/s)");
    }
}
