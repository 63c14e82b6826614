namespace OpenAiStreaming.Sampling;

/// <summary>
/// How often each token occurred: in the output (for all three penalties) and whether in the prompt (for the repetition
/// penalty only). An open-addressing table sized to the distinct tokens, not to the vocabulary, so that a sequence
/// costs memory in proportion to its length; it allocates only when it grows.
/// </summary>
internal sealed class TokenCounts
{
    /// <summary>Token id plus one per slot; 0 marks an empty slot.</summary>
    private uint[] _keys = new uint[16];

    /// <summary>Output occurrences per slot.</summary>
    private int[] _counts = new int[16];

    /// <summary>Whether the slot's token occurred in the prompt.</summary>
    private bool[] _prompt = new bool[16];

    /// <summary>How many slots are taken; kept at most half the table.</summary>
    private int _used;

    /// <summary>How many distinct tokens are recorded.</summary>
    public int Count => _used;

    /// <summary>The number of slots, for iteration with <see cref="TryGetSlot"/>.</summary>
    public int SlotCount => _keys.Length;

    /// <summary>Records one occurrence of <paramref name="token"/>; negative ids are ignored.</summary>
    public void Add(int token, bool inPrompt)
    {
        if (token < 0)
        {
            return;
        }

        if ((_used + 1) * 2 > _keys.Length)
        {
            Grow();
        }

        int slot = FindSlot(_keys, (uint)token + 1);
        if (_keys[slot] == 0)
        {
            _keys[slot] = (uint)token + 1;
            _used++;
        }

        if (inPrompt)
        {
            _prompt[slot] = true;
        }
        else
        {
            _counts[slot]++;
        }
    }

    /// <summary>The output count of <paramref name="token"/> (0 when never seen).</summary>
    public int GetCount(int token)
    {
        if (token < 0)
        {
            return 0;
        }

        int slot = FindSlot(_keys, (uint)token + 1);
        return _keys[slot] == 0 ? 0 : _counts[slot];
    }

    /// <summary>Reads one slot: false when it is empty.</summary>
    public bool TryGetSlot(int slot, out int token, out int outputCount, out bool inPrompt)
    {
        uint key = _keys[slot];
        token = (int)(key - 1);
        outputCount = _counts[slot];
        inPrompt = _prompt[slot];
        return key != 0;
    }

    /// <summary>Forgets every token, keeping the table's size.</summary>
    public void Clear()
    {
        if (_used == 0)
        {
            return;
        }

        Array.Clear(_keys);
        Array.Clear(_counts);
        Array.Clear(_prompt);
        _used = 0;
    }

    private static int FindSlot(uint[] keys, uint key)
    {
        int mask = keys.Length - 1;
        int slot = (int)((key * 0x9E3779B1u) >> 7) & mask;
        while (keys[slot] != 0 && keys[slot] != key)
        {
            slot = (slot + 1) & mask;
        }

        return slot;
    }

    private void Grow()
    {
        uint[] keys = new uint[_keys.Length * 2];
        int[] counts = new int[keys.Length];
        bool[] prompt = new bool[keys.Length];
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] != 0)
            {
                int slot = FindSlot(keys, _keys[i]);
                keys[slot] = _keys[i];
                counts[slot] = _counts[i];
                prompt[slot] = _prompt[i];
            }
        }

        (_keys, _counts, _prompt) = (keys, counts, prompt);
    }
}
