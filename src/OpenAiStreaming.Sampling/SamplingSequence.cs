using System.Buffers.Binary;
using System.Security.Cryptography;

namespace OpenAiStreaming.Sampling;

/// <summary>
/// The sampler's state for one generated sequence: its parameters, its seed, the step of the next token, and the token
/// counts the penalties read. <see cref="CpuSampler"/> advances it after each token it samples, so a model loop only
/// passes the sequence back in.
/// </summary>
/// <remarks>
/// As in vLLM, the repetition penalty applies to tokens of the prompt (see <see cref="AddPromptTokens"/>) and of the
/// output, while the frequency and presence penalties count output tokens only. Memory grows with the number of
/// distinct tokens seen, not with the vocabulary. Not thread-safe: one sequence is sampled by one call at a time.
/// </remarks>
public sealed class SamplingSequence
{
    private readonly TokenCounts _counts = new();

    /// <summary>Starts a sequence at step 0 with no history.</summary>
    /// <param name="parameters">
    /// The parameters every step uses (read again at every call). When <see cref="SamplingParams.Seed"/> is null a seed is
    /// drawn with <see cref="NewSeed"/>.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range.</exception>
    public SamplingSequence(SamplingParams parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        Parameters = parameters;
        Seed = parameters.Seed ?? NewSeed();
    }

    /// <summary>The parameters of every step.</summary>
    public SamplingParams Parameters { get; }

    /// <summary>The seed of the random numbers: the requested one, or the one drawn for an unseeded request (report it back
    /// so that the response can be reproduced).</summary>
    public ulong Seed { get; }

    /// <summary>The step of the next token: the number of output tokens accepted so far.</summary>
    public int Step { get; private set; }

    /// <summary>How many distinct tokens the penalties currently look at (prompt and output).</summary>
    internal int DistinctTokenCount => _counts.Count;

    /// <summary>
    /// The distinct prompt and output tokens the penalties look at, with their output counts, for a host that applies
    /// the penalties itself (as the GPU sampler does).
    /// </summary>
    public TokenHistory History => new(_counts);

    /// <summary>The table of token counts the sampler reads.</summary>
    internal TokenCounts Counts => _counts;

    /// <summary>Draws a 64-bit seed from the operating system's cryptographically strong generator.</summary>
    /// <returns>A uniformly distributed seed.</returns>
    internal static ulong NewSeed()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary>Records prompt tokens, which only the repetition penalty takes into account. Negative ids are ignored.</summary>
    /// <param name="tokens">The prompt's token ids, in any order.</param>
    public void AddPromptTokens(ReadOnlySpan<int> tokens)
    {
        foreach (int token in tokens)
        {
            _counts.Add(token, inPrompt: true);
        }
    }

    /// <summary>
    /// Appends an output token that the host chose itself (a forced or templated token): it counts for the penalties and
    /// advances <see cref="Step"/>, exactly as a sampled token does. Do not call it for tokens the sampler returned.
    /// </summary>
    /// <param name="token">The token id; a negative id still advances the step but is not counted.</param>
    public void Accept(int token)
    {
        _counts.Add(token, inPrompt: false);
        Step++;
    }

    /// <summary>How many times <paramref name="token"/> occurred in the output so far.</summary>
    /// <param name="token">A token id.</param>
    /// <returns>The count; 0 for tokens never accepted.</returns>
    public int GetOutputCount(int token) => _counts.GetCount(token);
}
