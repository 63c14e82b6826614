using System.Runtime.ExceptionServices;

namespace OpenAiStreaming.Sampling;

/// <content>The batched call: rows of one contiguous <c>[batch × vocab]</c> span, sampled in parallel.</content>
public sealed partial class CpuSampler
{
    /// <summary>The reusable description of the batch in flight, shared with the worker threads.</summary>
    private BatchJob? _job;

    /// <summary>
    /// Samples the next token of every sequence from its row of <paramref name="logits"/> and records it in the sequence,
    /// spreading the rows over the thread pool (at most one worker per core). Each row's result is exactly what
    /// <see cref="Sample(ReadOnlySpan{float}, SamplingSequence, Span{TokenLogprob})"/> returns for it alone.
    /// </summary>
    /// <param name="logits">
    /// <c>sequences.Count</c> rows of equal length, one after the other (row <c>b</c> starts at <c>b * vocab</c>).
    /// </param>
    /// <param name="sequences">One distinct sequence per row (the same instance twice is not allowed).</param>
    /// <param name="results">Receives one result per row; at least <c>sequences.Count</c> long.</param>
    /// <param name="topLogprobs">
    /// Empty, or <c>sequences.Count</c> equal slices (row <c>b</c> gets <c>[b * n, (b + 1) * n)</c> with
    /// <c>n = topLogprobs.Length / sequences.Count</c>) that receive each row's top log-probabilities.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="sequences"/> or one of its elements is null.</exception>
    /// <exception cref="ArgumentException">The spans' lengths do not fit the number of sequences.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter of a sequence is out of range.</exception>
    public unsafe void SampleBatch(
        ReadOnlySpan<float> logits, IReadOnlyList<SamplingSequence> sequences, Span<SampledToken> results, Span<TokenLogprob> topLogprobs = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int batch = sequences.Count;
        if (batch == 0)
        {
            return;
        }

        BatchSpans.Check(logits.Length, batch, results.Length, topLogprobs.Length);

        for (int b = 0; b < batch; b++)
        {
            SamplingSequence sequence = sequences[b] ?? throw new ArgumentNullException(nameof(sequences), "A sequence is null.");
            sequence.Parameters.Validate();
        }

        int vocab = logits.Length / batch;
        int stride = topLogprobs.Length / batch;
        int workers = Math.Min(batch, Environment.ProcessorCount);
        if (workers == 1)
        {
            for (int b = 0; b < batch; b++)
            {
                results[b] = SampleSequenceRow(logits.Slice(b * vocab, vocab), sequences[b], topLogprobs.Slice(b * stride, stride));
            }

            return;
        }

        BatchJob job = _job ??= new BatchJob();
        fixed (float* logitsPointer = logits)
        fixed (SampledToken* resultsPointer = results)
        fixed (TokenLogprob* topPointer = topLogprobs)
        {
            job.Run(this, logitsPointer, vocab, sequences, resultsPointer, topPointer, stride, workers);
        }
    }

    /// <summary>One row of a sequence, arguments already checked; records the token.</summary>
    private SampledToken SampleSequenceRow(ReadOnlySpan<float> row, SamplingSequence sequence, Span<TokenLogprob> top)
    {
        SampledToken result = SampleRow(row, sequence.Parameters, sequence.Seed, sequence.Step, sequence.Counts, top, out _);
        sequence.Accept(result.TokenId);
        return result;
    }

    /// <summary>
    /// The batch in flight. The caller queues itself as a work item once per extra worker and works too; rows are
    /// claimed one at a time, and the caller waits until every queued copy has finished, so the pinned pointers never
    /// outlive the call. Reused across calls, so a steady batch loop does not allocate.
    /// </summary>
    private sealed unsafe class BatchJob : IThreadPoolWorkItem
    {
        /// <summary>Scratch samplers of the extra workers, created once.</summary>
        private CpuSampler[] _samplers = [];

        /// <summary>The calling sampler, used by the calling thread.</summary>
        private CpuSampler? _owner;

        private float* _logits;
        private int _vocab;
        private IReadOnlyList<SamplingSequence>? _sequences;
        private SampledToken* _results;
        private TokenLogprob* _top;
        private int _stride;

        /// <summary>The next row to claim.</summary>
        private int _nextRow;

        /// <summary>The next worker slot to claim (0 is the caller).</summary>
        private int _nextSlot;

        /// <summary>Queued work items still to finish; the caller waits for 0 under the lock of this object.</summary>
        private int _pending;

        /// <summary>The first failure of a worker, rethrown by the caller.</summary>
        private ExceptionDispatchInfo? _error;

        public void Run(
            CpuSampler owner, float* logits, int vocab, IReadOnlyList<SamplingSequence> sequences, SampledToken* results, TokenLogprob* top, int stride, int workers)
        {
            if (_samplers.Length < workers - 1)
            {
                CpuSampler[] samplers = new CpuSampler[workers - 1];
                _samplers.CopyTo(samplers, 0);
                for (int i = _samplers.Length; i < samplers.Length; i++)
                {
                    samplers[i] = new CpuSampler();
                }

                _samplers = samplers;
            }

            _owner = owner;
            _logits = logits;
            _vocab = vocab;
            _sequences = sequences;
            _results = results;
            _top = top;
            _stride = stride;
            _nextRow = 0;
            _nextSlot = 0;
            _error = null;
            _pending = workers - 1;
            for (int i = 0; i < workers - 1; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }

            Work(owner);
            if (Volatile.Read(ref _pending) != 0)
            {
                lock (this)
                {
                    while (_pending != 0)
                    {
                        Monitor.Wait(this);
                    }
                }
            }

            _owner = null;
            _sequences = null;
            _logits = null;
            _results = null;
            _top = null;
            _error?.Throw();
        }

        /// <inheritdoc />
        public void Execute()
        {
            Work(_samplers[Interlocked.Increment(ref _nextSlot) - 1]);
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                lock (this)
                {
                    Monitor.PulseAll(this);
                }
            }
        }

        private void Work(CpuSampler sampler)
        {
            int batch = _sequences!.Count;
            int row;
            while ((row = Interlocked.Increment(ref _nextRow) - 1) < batch)
            {
                try
                {
                    var logits = new ReadOnlySpan<float>(_logits + ((long)row * _vocab), _vocab);
                    var top = new Span<TokenLogprob>(_top + ((long)row * _stride), _stride);
                    _results[row] = sampler.SampleSequenceRow(logits, _sequences[row], top);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                }
            }
        }
    }
}
