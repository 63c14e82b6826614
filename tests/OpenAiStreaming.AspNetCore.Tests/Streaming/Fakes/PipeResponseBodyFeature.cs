using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>
/// A response body that is a <see cref="Pipe"/>, read as it is written, as Kestrel's would be by the network: a test
/// waits on the text that reached it.
/// </summary>
public sealed class PipeResponseBodyFeature : IHttpResponseBodyFeature
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0));
    private readonly StringBuilder _received = new();
    private readonly Task _reading;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PipeResponseBodyFeature()
    {
        Stream = _pipe.Writer.AsStream(leaveOpen: true);
        _reading = Task.Run(ReadAsync);
    }

    public Stream Stream { get; }

    public PipeWriter Writer => _pipe.Writer;

    public void DisableBuffering()
    {
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task CompleteAsync() => Task.CompletedTask;

    /// <summary>Waits until the text received so far contains <paramref name="expected"/>.</summary>
    public async Task WaitForAsync(string expected)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            Task changed;
            lock (_received)
            {
                if (_received.ToString().Contains(expected, StringComparison.Ordinal))
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(timeout.Token);
        }
    }

    /// <summary>Ends the body (the response is over) and returns everything it carried.</summary>
    public async Task<string> CompleteAndReadAllAsync()
    {
        await _pipe.Writer.CompleteAsync();
        await _reading.WaitAsync(TimeSpan.FromSeconds(10));
        lock (_received)
        {
            return _received.ToString();
        }
    }

    private async Task ReadAsync()
    {
        while (true)
        {
            var result = await _pipe.Reader.ReadAsync();
            string text = Encoding.UTF8.GetString(result.Buffer);
            _pipe.Reader.AdvanceTo(result.Buffer.End);
            lock (_received)
            {
                _received.Append(text);
                _changed.TrySetResult();
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (result.IsCompleted)
            {
                await _pipe.Reader.CompleteAsync();
                return;
            }
        }
    }
}
