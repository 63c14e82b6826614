using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.ObjectPool;
using OpenAiStreaming.AspNetCore.Limits;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.Metrics;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// One completion request from admission to the last byte, whatever its wire format: it holds the request's admission
/// lease, runs the model through a pump that the client's connection, the host's shutdown deadline and the stream's
/// maximum duration each cancel, writes heartbeats while nothing comes, and ends every request once, either
/// complete or visibly failed (a status, or an error event and an aborted connection), recording that end once in the
/// metrics and the log. What the bytes are is the encoder's business.
/// </summary>
internal sealed class CompletionLifecycle
{
    /// <summary>How long an error event gets to reach the socket before the connection is aborted (see DESIGN).</summary>
    private static readonly TimeSpan s_errorDrainDelay = TimeSpan.FromMilliseconds(100);

    private static readonly Action<object?> s_cancel = static pump => ((TokenPump<ChatDelta>)pump!).Cancel();

    /// <summary>
    /// Chat and text completions' lifecycles, each with its encoder and state, reused from one request to the next: an
    /// open stream's state is promoted to the GC's oldest generation, and a stream that ends would leave it there as
    /// garbage (docs/benchmarks.md, memory per open stream). Enough are kept for the requests that end while others
    /// start; the rest are dropped.
    /// </summary>
    private static readonly DefaultObjectPool<CompletionLifecycle> s_pool = new(new DefaultPooledObjectPolicy<CompletionLifecycle>(), 1024);

    private HttpContext _context = null!;

    /// <summary>The connection's token, read once: Kestrel takes a lock for every read of <c>RequestAborted</c>, and a
    /// stream would read it at every flush.</summary>
    private CancellationToken _aborted;
    private ValidatedRequest _request = null!;
    private IChatClient _client = null!;
    private ICompletionEncoder _encoder = null!;
    private RequestMetrics _metrics = null!;
    private StreamingEnvironment _environment = null!;

    /// <summary>The chat encoder a pooled lifecycle keeps from one request to the next; null for one made with
    /// <c>new</c>, which is not pooled.</summary>
    private ChatCompletionEncoder? _chatEncoder;

    /// <summary>What the model has produced so far: the one place its tokens are counted.</summary>
    private readonly CompletionState _state = new();

    /// <summary>Fires when <see cref="OpenAiStreamingOptions.MaxStreamDuration"/> has passed; null without a limit.</summary>
    private CancellationTokenSource? _deadline;

    /// <summary>The request's admission, once decided.</summary>
    private AdmissionLease? _lease;

    /// <summary>The API key's limits, charged once the request has ended; null when the key has none.</summary>
    private KeyLimiters? _limits;

    /// <summary>True when content was written since the last flush: the user sees tokens when it completes.</summary>
    private bool _contentPending;

    public CompletionLifecycle(
        HttpContext context, ValidatedRequest request, IChatClient client, ICompletionEncoder encoder, RequestMetrics metrics, StreamingEnvironment environment) =>
        Initialize(context, request, client, encoder, metrics, environment);

    /// <summary>For <see cref="s_pool"/> only.</summary>
    public CompletionLifecycle()
    {
    }

    /// <summary>
    /// A lifecycle for a chat or text completion, with its encoder, taken from the pool; it goes back once
    /// <see cref="RunAsync"/> has recorded the end, so nothing may use it after that.
    /// </summary>
    public static CompletionLifecycle ForCompletion(
        HttpContext context, CompletionKind kind, ValidatedRequest request, IChatClient client, RequestMetrics metrics, StreamingEnvironment environment)
    {
        var lifecycle = s_pool.Get();
        var encoder = lifecycle._chatEncoder ??= new ChatCompletionEncoder();
        encoder.Initialize(kind, request, environment.Options, environment.TimeProvider);
        lifecycle.Initialize(context, request, client, encoder, metrics, environment);
        return lifecycle;
    }

    private void Initialize(
        HttpContext context, ValidatedRequest request, IChatClient client, ICompletionEncoder encoder, RequestMetrics metrics, StreamingEnvironment environment)
    {
        _context = context;
        _aborted = context.RequestAborted;
        _request = request;
        _client = client;
        _encoder = encoder;
        _metrics = metrics;
        _environment = environment;
    }

    private OpenAiStreamingOptions Options => _environment.Options;

    private StreamLifetime Lifetime => _environment.Lifetime;

    private CancellationToken Aborted => _aborted;

    /// <summary>The tokens the request used, prompt and output, once <see cref="RunAsync"/> has returned: what per-key limits charge.</summary>
    public TokenUsage Usage => _state.Usage(_request.Messages);

    /// <summary>Serves the request; returns once the model has stopped and the end is recorded.</summary>
    /// <param name="limits">The API key's limits, charged with the tokens the request used once it has ended; null when the key has none.</param>
    /// <remarks>
    /// Admission is decided here, before anything awaits; the rest of the request, the model and the answer, runs in
    /// one async method (<see cref="GenerateAsync"/>): every async method still awaiting keeps its state alive for as
    /// long as the stream is open, and a server holds thousands of open streams (docs/benchmarks.md, memory per open
    /// stream).
    /// </remarks>
    public Task RunAsync(KeyLimiters? limits = null)
    {
        _limits = limits;
        if (Lifetime.Stopping.IsCancellationRequested)
        {
            return RefuseAsync(CompletionEnd.Unavailable);
        }

        // Admission happens while a real status code can still be sent.
        _lease = new AdmissionLease(_environment.Admissions.For(_request.Model), _request.Choices);
        if (_lease.Result == AdmissionResult.Rejected)
        {
            return RefuseAsync(CompletionEnd.RateLimited);
        }

        _deadline = Options.MaxStreamDuration is { } duration ? new CancellationTokenSource(duration, _environment.TimeProvider) : null;
        return GenerateAsync();
    }

    /// <summary>Answers a request that was not admitted with its failure, then records it.</summary>
    private async Task RefuseAsync(CompletionEnd refusal)
    {
        CompletionEnd? end = null;
        try
        {
            end = await FailAsync(refusal).ConfigureAwait(false);
        }
        catch (Exception) when (Aborted.IsCancellationRequested)
        {
            end = CompletionEnd.ClientGone;
        }
        finally
        {
            Finish(end);
        }
    }

    /// <summary>
    /// Releases what the request held and records its one end (null when our own code failed); a pooled lifecycle then
    /// goes back to the pool, so this is the last thing its request does with it.
    /// </summary>
    private void Finish(CompletionEnd? end)
    {
        _lease?.Dispose();
        _deadline?.Dispose();
        Record(end);
        if (_limits is not null)
        {
            var usage = Usage;
            _limits.Charge(usage.Prompt + usage.Completion);
        }

        if (_chatEncoder is not null)
        {
            _context = null!;
            _aborted = default;
            _request = null!;
            _client = null!;
            _encoder = null!;
            _metrics = null!;
            _environment = null!;
            _deadline = null;
            _lease = null;
            _limits = null;
            _contentPending = false;
            _chatEncoder.Reset();
            _state.Reset();
            s_pool.Return(this);
        }
    }

    /// <summary>
    /// Waits for a slot. A streaming request starts its response first and sends heartbeats while it waits, so proxies
    /// keep it open; the host stopping ends the wait.
    /// </summary>
    /// <returns>Null once admitted; otherwise how the request ended while it waited.</returns>
    private async Task<CompletionEnd?> WaitForAdmissionAsync(AdmissionLease lease)
    {
        _metrics.Queued();
        // The host stopping ends the wait (the shutdown deadline comes later).
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Aborted, Lifetime.Stopping, _deadline?.Token ?? default);
        var heartbeat = Options.HeartbeatInterval > TimeSpan.Zero ? Options.HeartbeatInterval : Timeout.InfiniteTimeSpan;
        try
        {
            if (_request.Stream && !await StartStreamAsync().ConfigureAwait(false))
            {
                return CompletionEnd.ClientGone;
            }

            while (!await lease.WaitAsync(heartbeat, wait.Token).ConfigureAwait(false))
            {
                if (_encoder.HasStarted && !await WriteHeartbeatAndFlushAsync().ConfigureAwait(false))
                {
                    return CompletionEnd.ClientGone;
                }
            }

            _metrics.Admitted();
            return null;
        }
        catch (OperationCanceledException ex) when (!Aborted.IsCancellationRequested)
        {
            return Lifetime.Stopping.IsCancellationRequested ? CompletionEnd.Unavailable : Classify(ex);
        }
    }

    /// <summary>
    /// Waits for a slot if the request was queued, runs the model through the pump into a stream or a whole answer,
    /// answers a failure (<see cref="FailAsync"/>), and records the end.
    /// </summary>
    /// <remarks>
    /// One async method for the whole stream, whose state lives as long as the stream does (see <see cref="RunAsync"/>).
    /// For the same reason the stream has one token source, the pump's: the client's connection cancels it through the
    /// pump's registration, the shutdown deadline and the duration limit through one registration each, and the
    /// response waits with its token.
    /// </remarks>
    private async Task GenerateAsync()
    {
        CompletionEnd? end = null;
        try
        {
            end = _lease!.Result == AdmissionResult.Queued ? await WaitForAdmissionAsync(_lease).ConfigureAwait(false) : null;
            TokenPump<ChatDelta>? pump = null;
            if (end is null)
            {
                try
                {
                    var pumpOptions = new TokenPumpOptions
                    {
                        Capacity = Options.MaxQueuedDeltas,
                        MaxBufferedBytes = Options.MaxBufferedBytes,
                        TimeProvider = _environment.TimeProvider,

                        // The response waits on the pump right after starting it (below, or RespondWholeAsync).
                        StartOnFirstWait = true,
                    };
                    pump = await ChatProducer.StartAsync(_client, _request, pumpOptions, Aborted).ConfigureAwait(false);
                }
                catch (ArgumentException ex) when (!Aborted.IsCancellationRequested)
                {
                    end = new CompletionEnd(CompletionEndKind.BackendRejected, ex);
                }
                catch (Exception ex) when (!Aborted.IsCancellationRequested)
                {
                    end = Classify(ex);
                }
            }

            if (pump is not null)
            {
                await using (pump.ConfigureAwait(false))
                {
                    // Disposed before the pump is (the finally below), so no callback cancels a disposed source.
                    var shutdown = Lifetime.DrainDeadline.UnsafeRegister(s_cancel, pump);
                    var deadline = _deadline?.Token.UnsafeRegister(s_cancel, pump) ?? default;
                    try
                    {
                        end = _request.Stream ? null : await RespondWholeAsync(pump).ConfigureAwait(false);

                        // The stream's start (headers and opening events) goes out with the first delta when the model
                        // has one at once (one flush, as the built-in SSE result does), and alone as soon as the model
                        // has to wait, so that the client learns at once that its request was taken.
                        bool startPending = end is null && !_encoder.HasStarted;
                        if (startPending)
                        {
                            _encoder.StartStream(_context.Response);
                        }

                        while (end is null)
                        {
                            var wait = pump.WaitAsync(Options.HeartbeatInterval, pump.ProducerToken);
                            if (startPending && !wait.IsCompleted && !await FlushAsync().ConfigureAwait(false))
                            {
                                end = CompletionEnd.ClientGone;
                                break;
                            }

                            startPending = false;
                            var signal = await wait.ConfigureAwait(false);
                            if (signal == PumpSignal.Completed)
                            {
                                _encoder.WriteEnd(_state.FinishReason, _state.Usage(_request.Messages));
                                end = await FlushAsync().ConfigureAwait(false) ? CompletionEnd.Completed : CompletionEnd.ClientGone;
                            }
                            else if (signal == PumpSignal.Idle)
                            {
                                end = await WriteHeartbeatAndFlushAsync().ConfigureAwait(false) ? null : CompletionEnd.ClientGone;
                            }
                            else
                            {
                                // Everything that is ready goes out in one flush, a chunk per delta as the backend
                                // produced them (a delta holds several tokens only when the pump merged them for a
                                // lagging client).
                                while (pump.TryRead(out var delta))
                                {
                                    int toolCalls = _state.Apply(delta);
                                    _contentPending |= _encoder.WriteDelta(_state, toolCalls);
                                    _state.ClearPendingText();
                                }

                                end = await FlushAsync().ConfigureAwait(false) ? null : CompletionEnd.ClientGone;
                            }
                        }
                    }
                    catch (Exception ex) when (!Aborted.IsCancellationRequested)
                    {
                        end = Classify(ex);
                    }
                    finally
                    {
                        shutdown.Dispose();
                        deadline.Dispose();
                        _metrics.Coalesced(pump.MergedCount);
                    }
                }
            }

            if (end!.IsFailure)
            {
                end = await FailAsync(end).ConfigureAwait(false);
            }
        }
        catch (Exception) when (Aborted.IsCancellationRequested)
        {
            // The client left: whatever failed on the way out (a write, the producer's cancellation) is expected.
            end = CompletionEnd.ClientGone;
        }
        finally
        {
            Finish(end);
        }
    }

    private async Task<CompletionEnd> RespondWholeAsync(TokenPump<ChatDelta> pump)
    {
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, pump.ProducerToken).ConfigureAwait(false) != PumpSignal.Completed)
        {
            while (pump.TryRead(out var delta))
            {
                _state.Apply(delta);
            }
        }

        await _encoder.WriteWholeAsync(_context.Response, _state, _state.Usage(_request.Messages), Aborted).ConfigureAwait(false);
        _metrics.AnswerWritten();
        return CompletionEnd.Completed;
    }

    /// <summary>Sends the response's headers and opening events in one flush; false when the client is gone.</summary>
    private ValueTask<bool> StartStreamAsync()
    {
        _encoder.StartStream(_context.Response);
        return FlushAsync();
    }

    private ValueTask<bool> WriteHeartbeatAndFlushAsync()
    {
        _encoder.WriteHeartbeat();
        _metrics.Heartbeat();
        return FlushAsync();
    }

    /// <summary>Flushes; a flush the client can no longer receive counts as a disconnect (the caller ends the stream,
    /// and disposing the pump stops generation).</summary>
    private async ValueTask<bool> FlushAsync()
    {
        int events = _encoder.UnflushedEvents;
        long bytes = _encoder.UnflushedBytes;
        long start = _environment.TimeProvider.GetTimestamp();
        var result = await _encoder.FlushAsync(Aborted).ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            return false;
        }

        _metrics.Flushed(events, bytes, start, _contentPending);
        _contentPending = false;
        return true;
    }

    /// <summary>Why a started request ended early: what cancelled the stream's token, or what the model threw.</summary>
    private CompletionEnd Classify(Exception exception)
    {
        if (exception is TokenPumpOverflowException)
        {
            return new CompletionEnd(CompletionEndKind.ClientTooSlow, exception);
        }

        if (Lifetime.DrainDeadline.IsCancellationRequested)
        {
            return new CompletionEnd(CompletionEndKind.ShutdownCut, exception);
        }

        return _deadline?.IsCancellationRequested == true
            ? new CompletionEnd(CompletionEndKind.TimedOut, exception)
            : new CompletionEnd(CompletionEndKind.BackendFailed, exception);
    }

    /// <summary>
    /// Tells the client the request failed: as a status and error body while the response has not started; once it
    /// has, as an error event, flushed and given a moment to reach the socket, then an aborted connection, so that no
    /// client mistakes the truncated answer for a complete one.
    /// </summary>
    private async Task<CompletionEnd> FailAsync(CompletionEnd end)
    {
        if (!_encoder.HasStarted)
        {
            if (end.Kind is CompletionEndKind.RateLimited or CompletionEndKind.Unavailable)
            {
                // Full or draining: another replica, or this one a moment later, can serve it (a proxy may retry now).
                _context.Response.Headers.RetryAfter = "1";
            }

            await _encoder.WriteFailureAsync(_context.Response, end).ConfigureAwait(false);
            return end;
        }

        try
        {
            _encoder.WriteError(end);
            await _encoder.FlushAsync(Aborted).ConfigureAwait(false);
            await Task.Delay(s_errorDrainDelay, _environment.TimeProvider, Aborted).ConfigureAwait(false);
        }
        catch (Exception) when (Aborted.IsCancellationRequested)
        {
            // The client is gone already; the abort below is all that is left to do.
        }
        finally
        {
            _context.Abort();
        }

        return end;
    }

    /// <summary>Records the request's one end in the log and the metrics.</summary>
    private void Record(CompletionEnd? end)
    {
        if (end is null)
        {
            // Our own failure, on its way to the server's unhandled-exception log.
            _metrics.End(RequestOutcome.Failed("_OTHER", _state.OutputTokens));
            return;
        }

        OpenAiStreamingLog.Ended(_environment.Logger, _request.Model, end, Options.MaxStreamDuration);
        _metrics.End(end.ToOutcome(_state, _request.Messages));
    }
}
