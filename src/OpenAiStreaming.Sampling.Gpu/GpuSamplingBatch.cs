namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>
/// Turns sequences into the kernel's parameter block: one <see cref="GpuRowParameters"/> per row and a flat list of
/// <see cref="GpuLogitPatch"/>es (logit bias and penalized tokens). A pure function: the same sequences give the same
/// bytes, so packing is tested without a GPU.
/// </summary>
public static class GpuSamplingBatch
{
    /// <summary>Packs the parameters of every sequence for the step it is at.</summary>
    /// <param name="sequences">One sequence per row.</param>
    /// <param name="vocab">The row length; bias and history ids at or beyond it are left out, as the CPU ignores them.</param>
    /// <param name="rows">Receives one entry per sequence.</param>
    /// <param name="patches">Cleared, then receives every row's patches, rows one after the other.</param>
    /// <exception cref="ArgumentNullException">An argument or a sequence is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is shorter than the number of sequences.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="vocab"/> is not positive.</exception>
    public static void Pack(IReadOnlyList<SamplingSequence> sequences, int vocab, Span<GpuRowParameters> rows, List<GpuLogitPatch> patches)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(patches);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocab);
        if (rows.Length < sequences.Count)
        {
            throw new ArgumentException("There must be one row entry per sequence.", nameof(rows));
        }

        patches.Clear();
        for (int b = 0; b < sequences.Count; b++)
        {
            SamplingSequence sequence = sequences[b] ?? throw new ArgumentNullException(nameof(sequences), "A sequence is null.");
            rows[b] = PackRow(sequence.Parameters, sequence.Seed, sequence.Step, sequence.History, vocab, patches);
        }
    }

    /// <summary>
    /// Packs one row of the stateless call (<see cref="GpuSampler.Sample(ReadOnlySpan{float}, SamplingParams, ulong, int)"/>):
    /// the logit bias, no penalties (there is no history to apply them to).
    /// </summary>
    /// <param name="p">The parameters; validated.</param>
    /// <param name="seed">The seed of the random numbers.</param>
    /// <param name="step">The position of the token being generated.</param>
    /// <param name="vocab">The row length; bias ids at or beyond it are left out.</param>
    /// <param name="patches">Receives the row's patches (appended).</param>
    /// <returns>The row's parameter block.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range.</exception>
    public static GpuRowParameters PackRow(SamplingParams p, ulong seed, int step, int vocab, List<GpuLogitPatch> patches)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(patches);
        return PackRow(p, seed, step, default, vocab, patches);
    }

    /// <summary>One row; the patches are appended to <paramref name="patches"/>.</summary>
    private static GpuRowParameters PackRow(SamplingParams p, ulong seed, int step, TokenHistory history, int vocab, List<GpuLogitPatch> patches)
    {
        p.Validate();
        int first = patches.Count;
        foreach (KeyValuePair<int, float> bias in p.LogitBias)
        {
            if (bias.Key < vocab)
            {
                patches.Add(new GpuLogitPatch { Token = bias.Key, Bias = bias.Value, Flags = GpuLogitPatch.HasBias });
            }
        }

        // As in CpuSampler.SampleRow: the history only when some penalty is not neutral.
        if (p.HasPenalties)
        {
            int biased = patches.Count;
            foreach (TokenOccurrence seen in history)
            {
                if (seen.Token >= vocab)
                {
                    continue;
                }

                int index = FindPatch(patches, first, biased, seen.Token);
                if (index >= 0)
                {
                    GpuLogitPatch patch = patches[index];
                    patch.Count = seen.OutputCount;
                    patch.Flags |= GpuLogitPatch.Seen;
                    patches[index] = patch;
                }
                else
                {
                    patches.Add(new GpuLogitPatch { Token = seen.Token, Count = seen.OutputCount, Flags = GpuLogitPatch.Seen });
                }
            }
        }

        return new GpuRowParameters
        {
            Seed = seed,
            Temperature = p.Temperature,
            TopP = p.TopP,
            MinP = p.MinP,
            MinPLogitOffset = p.MinP > 0 ? p.Temperature * Math.Log(p.MinP) : 0,
            RepetitionPenalty = p.RepetitionPenalty,
            FrequencyPenalty = p.FrequencyPenalty,
            PresencePenalty = p.PresencePenalty,
            TopK = p.TopK,
            Step = step,
            PatchOffset = first,
            PatchCount = patches.Count - first,
            Flags = p.Logprobs ? GpuRowParameters.WantLogprob : 0,
            TopLogprobs = p.TopLogprobs,
        };
    }

    /// <summary>The index of the bias patch of <paramref name="token"/> in [start, end), or -1.</summary>
    private static int FindPatch(List<GpuLogitPatch> patches, int start, int end, int token)
    {
        // Bias lists are short (OpenAI allows 300 entries); a linear scan beats building a dictionary per row.
        for (int i = start; i < end; i++)
        {
            if (patches[i].Token == token)
            {
                return i;
            }
        }

        return -1;
    }
}
