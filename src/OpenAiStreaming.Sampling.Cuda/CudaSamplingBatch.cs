namespace OpenAiStreaming.Sampling.Cuda;

/// <summary>
/// Turns sequences into the kernel's parameter block: one <see cref="CudaRowParameters"/> per row and a flat list of
/// <see cref="CudaLogitPatch"/>es (logit bias and penalized tokens). A pure function: the same sequences give the same
/// bytes, so packing is tested without a GPU.
/// </summary>
public static class CudaSamplingBatch
{
    /// <summary>Packs the parameters of every sequence for the step it is at.</summary>
    /// <param name="sequences">One sequence per row.</param>
    /// <param name="vocab">The row length; bias and history ids at or beyond it are left out, as the CPU ignores them.</param>
    /// <param name="rows">Receives one entry per sequence.</param>
    /// <param name="patches">Cleared, then receives every row's patches, rows one after the other.</param>
    /// <exception cref="ArgumentNullException">An argument or a sequence is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is shorter than the number of sequences.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="vocab"/> is not positive.</exception>
    public static void Pack(IReadOnlyList<SamplingSequence> sequences, int vocab, Span<CudaRowParameters> rows, List<CudaLogitPatch> patches)
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
            rows[b] = PackRow(sequence, vocab, patches);
        }
    }

    /// <summary>One row; the patches are appended to <paramref name="patches"/>.</summary>
    private static CudaRowParameters PackRow(SamplingSequence sequence, int vocab, List<CudaLogitPatch> patches)
    {
        SamplingParams p = sequence.Parameters;
        p.Validate();
        int first = patches.Count;
        foreach (KeyValuePair<int, float> bias in p.LogitBias)
        {
            if (bias.Key < vocab)
            {
                patches.Add(new CudaLogitPatch { Token = bias.Key, Bias = bias.Value, Flags = CudaLogitPatch.HasBias });
            }
        }

        // As in CpuSampler.SampleRow: the history only when some penalty is not neutral.
        if (p.HasPenalties)
        {
            int biased = patches.Count;
            foreach (TokenOccurrence seen in sequence.History)
            {
                if (seen.Token >= vocab)
                {
                    continue;
                }

                int index = FindPatch(patches, first, biased, seen.Token);
                if (index >= 0)
                {
                    CudaLogitPatch patch = patches[index];
                    patch.Count = seen.OutputCount;
                    patch.Flags |= CudaLogitPatch.Seen;
                    patches[index] = patch;
                }
                else
                {
                    patches.Add(new CudaLogitPatch { Token = seen.Token, Count = seen.OutputCount, Flags = CudaLogitPatch.Seen });
                }
            }
        }

        return new CudaRowParameters
        {
            Seed = sequence.Seed,
            Temperature = p.Temperature,
            TopP = p.TopP,
            MinP = p.MinP,
            RepetitionPenalty = p.RepetitionPenalty,
            FrequencyPenalty = p.FrequencyPenalty,
            PresencePenalty = p.PresencePenalty,
            TopK = p.TopK,
            Step = sequence.Step,
            PatchOffset = first,
            PatchCount = patches.Count - first,
            Flags = p.Logprobs ? CudaRowParameters.WantLogprob : 0,
            TopLogprobs = p.TopLogprobs,
        };
    }

    /// <summary>The index of the bias patch of <paramref name="token"/> in [start, end), or -1.</summary>
    private static int FindPatch(List<CudaLogitPatch> patches, int start, int end, int token)
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
