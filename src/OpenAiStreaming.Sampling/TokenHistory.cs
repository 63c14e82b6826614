namespace OpenAiStreaming.Sampling;

/// <summary>
/// The tokens a <see cref="SamplingSequence"/>'s penalties look at, in no particular order, for a host that applies the
/// penalties itself (the GPU sampler packs them for its kernel). A view: it reads the sequence as it is when enumerated,
/// and enumerating allocates nothing.
/// </summary>
public readonly struct TokenHistory
{
    private readonly TokenCounts? _counts;

    internal TokenHistory(TokenCounts counts) => _counts = counts;

    /// <summary>How many distinct tokens the history holds.</summary>
    public int Count => _counts?.Count ?? 0;

    /// <summary>Returns an enumerator over the distinct tokens.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_counts);

    /// <summary>Enumerates the distinct tokens of a <see cref="TokenHistory"/>.</summary>
    public struct Enumerator
    {
        private readonly TokenCounts? _counts;
        private int _slot;

        internal Enumerator(TokenCounts? counts)
        {
            _counts = counts;
            _slot = -1;
            Current = default;
        }

        /// <summary>The token at the enumerator's position.</summary>
        public TokenOccurrence Current { get; private set; }

        /// <summary>Moves to the next distinct token.</summary>
        /// <returns>False when there is none left.</returns>
        public bool MoveNext()
        {
            if (_counts is null)
            {
                return false;
            }

            while (++_slot < _counts.SlotCount)
            {
                if (_counts.TryGetSlot(_slot, out int token, out int outputCount, out bool inPrompt))
                {
                    Current = new TokenOccurrence(token, outputCount, inPrompt);
                    return true;
                }
            }

            return false;
        }
    }
}
