using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace ChatServer.Model;

/// <summary>
/// A character-level language model: interpolated Kneser-Ney over character n-grams, trained by counting.
/// Immutable once trained, so one instance serves any number of concurrent streams.
/// </summary>
/// <remarks>
/// The vocabulary is newline, printable ASCII and the most frequent other characters of the training text (255 tokens
/// at most, so an n-gram packs into one <see cref="ulong"/>, a byte per character). The model therefore works, uniformly
/// at worst, even on an empty text. Characters outside the vocabulary encode as a space. The highest order uses raw
/// counts; lower orders use continuation counts (how many distinct characters precede a context), which is what makes
/// Kneser-Ney's lower orders good at backing off.
/// </remarks>
internal sealed class CharLanguageModel
{
    /// <summary>The largest supported n-gram order: eight characters fill a <see cref="ulong"/> key.</summary>
    public const int MaxOrder = 8;

    /// <summary>The largest vocabulary: token ids are stored plus one in a byte, zero meaning "no character".</summary>
    private const int MaxVocabularySize = 255;

    private const char FallbackCharacter = ' ';

    private readonly Vocabulary _vocabulary;
    /// <summary>Vocabulary characters by token id.</summary>
    private readonly char[] _characters;
    private readonly int _fallbackToken;
    private readonly int _newlineToken;

    /// <summary>Context node ids by packed context (most recent character in the lowest byte); the empty context is node 0.</summary>
    private readonly KeyTable _contexts;
    /// <summary>Start of each node's followers in the follower arrays (CSR layout, length nodes + 1).</summary>
    private readonly int[] _followerStart;
    private readonly int[] _followerToken;
    private readonly int[] _followerCount;
    private readonly int[] _followerContinuation;
    private readonly int[] _countTotal;
    private readonly int[] _continuationTotal;
    private readonly int[] _continuationTypes;
    /// <summary>Absolute discounts by context length, for raw and for continuation counts.</summary>
    private readonly float[] _countDiscount;
    private readonly float[] _continuationDiscount;

    private CharLanguageModel(int order, int trainingLength, Vocabulary vocabulary, Counts counts)
    {
        Order = order;
        TrainingLength = trainingLength;
        _vocabulary = vocabulary;
        _characters = vocabulary.Characters;
        _fallbackToken = vocabulary.AsciiTokens[FallbackCharacter];
        _newlineToken = vocabulary.AsciiTokens['\n'];
        _contexts = counts.Contexts;
        _followerStart = counts.FollowerStart;
        _followerToken = counts.FollowerToken;
        _followerCount = counts.FollowerCount;
        _followerContinuation = counts.FollowerContinuation;
        _countTotal = counts.CountTotal;
        _continuationTotal = counts.ContinuationTotal;
        _continuationTypes = counts.ContinuationTypes;
        _countDiscount = counts.CountDiscount;
        _continuationDiscount = counts.ContinuationDiscount;
    }

    /// <summary>The n-gram order: the model looks at the last <c>Order - 1</c> characters.</summary>
    public int Order { get; }

    /// <summary>The number of characters the model was trained on (after normalization).</summary>
    public int TrainingLength { get; }

    /// <summary>The number of distinct tokens (characters); the length of a logits row.</summary>
    public int VocabularySize => _characters.Length;

    /// <summary>The number of distinct contexts the model has seen, the empty one included.</summary>
    public int ContextCount => _followerStart.Length - 1;

    /// <summary>Trains a model on <paramref name="text"/>.</summary>
    /// <param name="text">Training text; may be empty. Line endings are normalized to <c>\n</c>.</param>
    /// <param name="order">The n-gram order, 1 to <see cref="MaxOrder"/> (default 6: five characters of context).</param>
    public static CharLanguageModel Train(string text, int order = 6)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, MaxOrder);

        string normalized = Normalize(text);
        var vocabulary = Vocabulary.Build(normalized);
        var tokens = new byte[normalized.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = (byte)(vocabulary.Encode(normalized[i], vocabulary.AsciiTokens[FallbackCharacter]) + 1);
        }

        return new CharLanguageModel(order, tokens.Length, vocabulary, Counts.Build(tokens, order));
    }

    /// <summary>The character of a token id.</summary>
    public char Decode(int token)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, _characters.Length);
        return _characters[token];
    }

    /// <summary>The token id of a character; characters outside the vocabulary encode as a space (<c>\r</c> as <c>\n</c>).</summary>
    public int Encode(char c) => c == '\r' ? _newlineToken : _vocabulary.Encode(c, _fallbackToken);

    /// <summary>Encodes <paramref name="text"/> into <paramref name="tokens"/>, one token per character.</summary>
    public void Encode(ReadOnlySpan<char> text, Span<int> tokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens.Length, text.Length, nameof(tokens));
        for (int i = 0; i < text.Length; i++)
        {
            tokens[i] = Encode(text[i]);
        }
    }

    /// <summary>
    /// Writes the natural-log probability of every next character given <paramref name="context"/> (token ids, oldest
    /// first; only the last <c>Order - 1</c> are read). Every value is finite and their exponentials sum to 1.
    /// Allocation-free.
    /// </summary>
    /// <param name="context">Token ids, oldest first; may be empty.</param>
    /// <param name="logits">Destination of exactly <see cref="VocabularySize"/> values.</param>
    public void ComputeLogits(ReadOnlySpan<int> context, Span<float> logits)
    {
        int v = _characters.Length;
        if (logits.Length != v)
        {
            throw new ArgumentException($"The logits span must hold exactly {v} values.", nameof(logits));
        }

        // Find the context nodes from the empty context up to the longest one seen in training; a context never seen
        // cannot have been seen with an older character in front of it either.
        int requested = Math.Min(Order - 1, context.Length);
        Span<int> path = stackalloc int[MaxOrder];
        path[0] = 0;
        int found = 0;
        ulong key = 0;
        for (int k = 1; k <= requested; k++)
        {
            int token = context[^k];
            if ((uint)token >= (uint)v)
            {
                throw new ArgumentOutOfRangeException(nameof(context), token, "A context token is outside the vocabulary.");
            }

            key |= (ulong)(token + 1) << (8 * (k - 1));
            int slot = _contexts.Find(key);
            if (slot < 0)
            {
                break;
            }

            path[k] = _contexts.Values[slot];
            found = k;
        }

        // Interpolate from the uniform distribution upwards: p_k = max(c - D, 0) / N + (D * T / N) * p_{k-1}.
        // Every level keeps some mass from the level below, so no probability is ever zero.
        logits.Fill(1f / v);
        for (int depth = 0; depth <= found; depth++)
        {
            int node = path[depth];
            bool raw = depth == requested;
            int total = raw ? _countTotal[node] : _continuationTotal[node];
            if (total == 0)
            {
                continue;
            }

            int start = _followerStart[node];
            int end = _followerStart[node + 1];
            int types = raw ? end - start : _continuationTypes[node];
            float discount = raw ? _countDiscount[depth] : _continuationDiscount[depth];
            float inverseTotal = 1f / total;
            float backoff = discount * types * inverseTotal;
            for (int i = 0; i < logits.Length; i++)
            {
                logits[i] *= backoff;
            }

            int[] counts = raw ? _followerCount : _followerContinuation;
            for (int f = start; f < end; f++)
            {
                int count = counts[f];
                if (count > 0)
                {
                    logits[_followerToken[f]] += (count - discount) * inverseTotal;
                }
            }
        }

        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = MathF.Log(logits[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\r')
            {
                builder.Append('\n');
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
            }
            else if (IsModelled(c))
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    // Lone UTF-16 halves would make invalid text when sampled one at a time, and control characters are noise.
    private static bool IsModelled(char c) =>
        c is '\n' or '\t' || (!char.IsControl(c) && !char.IsSurrogate(c) && c != '\uFEFF');

    /// <summary>The characters a model knows and their token ids (ordinal order).</summary>
    private readonly record struct Vocabulary(char[] Characters, int[] AsciiTokens, Dictionary<char, int> OtherTokens)
    {
        public int Encode(char c, int fallback)
        {
            if (c < 128)
            {
                int token = AsciiTokens[c];
                return token >= 0 ? token : fallback;
            }

            return OtherTokens.TryGetValue(c, out int other) ? other : fallback;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static Vocabulary Build(string text)
        {
            var set = new SortedSet<char> { '\n' };
            for (char c = ' '; c <= '~'; c++)
            {
                set.Add(c);
            }

            // The rest of the vocabulary goes to the most frequent other characters, ties by code point.
            var frequency = new int[char.MaxValue + 1];
            foreach (char c in text)
            {
                frequency[c]++;
            }

            foreach (char c in set)
            {
                frequency[c] = 0;
            }

            IEnumerable<char> others = Enumerable.Range(0, frequency.Length)
                .Where(c => frequency[c] > 0)
                .OrderByDescending(c => frequency[c])
                .ThenBy(c => c)
                .Take(MaxVocabularySize - set.Count)
                .Select(c => (char)c);
            set.UnionWith([.. others]);

            char[] characters = [.. set];
            var asciiTokens = new int[128];
            Array.Fill(asciiTokens, -1);
            var otherTokens = new Dictionary<char, int>();
            for (int token = 0; token < characters.Length; token++)
            {
                char c = characters[token];
                if (c < 128)
                {
                    asciiTokens[c] = token;
                }
                else
                {
                    otherTokens.Add(c, token);
                }
            }

            return new Vocabulary(characters, asciiTokens, otherTokens);
        }
    }

    /// <summary>The n-gram statistics, laid out for one contiguous read per context.</summary>
    private sealed class Counts
    {
        public required KeyTable Contexts { get; init; }
        public required int[] FollowerStart { get; init; }
        public required int[] FollowerToken { get; init; }
        public required int[] FollowerCount { get; init; }
        public required int[] FollowerContinuation { get; init; }
        public required int[] CountTotal { get; init; }
        public required int[] ContinuationTotal { get; init; }
        public required int[] ContinuationTypes { get; init; }
        public required float[] CountDiscount { get; init; }
        public required float[] ContinuationDiscount { get; init; }

        /// <param name="tokens">Token ids plus one (never zero).</param>
        /// <param name="order">The n-gram order.</param>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static Counts Build(byte[] tokens, int order)
        {
            // Count every n-gram of length 1..order, packed next character first: key = next | x1 << 8 | x2 << 16 ...
            // where x1 is the character just before it. The key without its lowest byte is the n-gram's context.
            // Extra holds the continuation count: how many distinct one-character-longer n-grams end the same way.
            var grams = new KeyTable(Math.Clamp(tokens.Length, 16, 1 << 16), withExtra: true);
            for (int i = 0; i < tokens.Length; i++)
            {
                grams.EnsureRoomFor(order);
                ulong key = tokens[i];
                int shorter = -1;
                for (int k = 0; ; k++)
                {
                    int slot = grams.FindOrAdd(key, out bool added);
                    grams.Values[slot]++;
                    if (added && shorter >= 0)
                    {
                        grams.Extra[shorter]++;
                    }

                    if (k == order - 1 || i - 1 - k < 0)
                    {
                        break;
                    }

                    shorter = slot;
                    key |= (ulong)tokens[i - 1 - k] << (8 * (k + 1));
                }
            }

            // Number the contexts (the empty one is node 0 and has no key), then lay the n-grams out by context.
            var contexts = new KeyTable(Math.Max(16, grams.Count / 2), withExtra: false);
            var gramNode = new int[grams.Capacity];
            var nodeDepth = new List<int> { 0 };
            for (int slot = 0; slot < grams.Capacity; slot++)
            {
                ulong key = grams.Keys[slot];
                if (key == 0)
                {
                    continue;
                }

                ulong context = key >> 8;
                if (context == 0)
                {
                    continue;
                }

                contexts.EnsureRoomFor(1);
                int contextSlot = contexts.FindOrAdd(context, out bool added);
                if (added)
                {
                    contexts.Values[contextSlot] = nodeDepth.Count;
                    nodeDepth.Add((71 - BitOperations.LeadingZeroCount(context)) / 8);
                }

                gramNode[slot] = contexts.Values[contextSlot];
            }

            int nodes = nodeDepth.Count;
            var followerStart = new int[nodes + 1];
            for (int slot = 0; slot < grams.Capacity; slot++)
            {
                if (grams.Keys[slot] != 0)
                {
                    followerStart[gramNode[slot] + 1]++;
                }
            }

            for (int n = 0; n < nodes; n++)
            {
                followerStart[n + 1] += followerStart[n];
            }

            var cursor = (int[])followerStart.Clone();
            var followerToken = new int[grams.Count];
            var followerCount = new int[grams.Count];
            var followerContinuation = new int[grams.Count];
            var countTotal = new int[nodes];
            var continuationTotal = new int[nodes];
            var continuationTypes = new int[nodes];
            var countOnes = new long[order];
            var countTwos = new long[order];
            var continuationOnes = new long[order];
            var continuationTwos = new long[order];
            for (int slot = 0; slot < grams.Capacity; slot++)
            {
                ulong key = grams.Keys[slot];
                if (key == 0)
                {
                    continue;
                }

                int node = gramNode[slot];
                int index = cursor[node]++;
                int count = grams.Values[slot];
                int continuation = grams.Extra[slot];
                followerToken[index] = (int)(key & 0xFF) - 1;
                followerCount[index] = count;
                followerContinuation[index] = continuation;
                countTotal[node] += count;
                continuationTotal[node] += continuation;
                if (continuation > 0)
                {
                    continuationTypes[node]++;
                }

                int depth = nodeDepth[node];
                CountOfCounts(count, ref countOnes[depth], ref countTwos[depth]);
                CountOfCounts(continuation, ref continuationOnes[depth], ref continuationTwos[depth]);
            }

            var countDiscount = new float[order];
            var continuationDiscount = new float[order];
            for (int d = 0; d < order; d++)
            {
                countDiscount[d] = Discount(countOnes[d], countTwos[d]);
                continuationDiscount[d] = Discount(continuationOnes[d], continuationTwos[d]);
            }

            return new Counts
            {
                Contexts = contexts,
                FollowerStart = followerStart,
                FollowerToken = followerToken,
                FollowerCount = followerCount,
                FollowerContinuation = followerContinuation,
                CountTotal = countTotal,
                ContinuationTotal = continuationTotal,
                ContinuationTypes = continuationTypes,
                CountDiscount = countDiscount,
                ContinuationDiscount = continuationDiscount,
            };
        }

        private static void CountOfCounts(int count, ref long ones, ref long twos)
        {
            if (count == 1)
            {
                ones++;
            }
            else if (count == 2)
            {
                twos++;
            }
        }

        // Ney's estimate D = n1 / (n1 + 2 n2), kept away from 0 (no smoothing) and 1 (singletons would get no mass).
        private static float Discount(long ones, long twos) =>
            ones + twos == 0 ? 0.5f : Math.Clamp((float)ones / (ones + (2 * twos)), 0.1f, 0.9f);
    }

    /// <summary>
    /// An open-addressing hash table from non-zero <see cref="ulong"/> keys to slots holding an int (and optionally a
    /// second one); several times faster than a dictionary for the millions of lookups training makes.
    /// </summary>
    private sealed class KeyTable
    {
        /// <summary>Keys by slot; zero marks an empty slot.</summary>
        public ulong[] Keys { get; private set; }
        public int[] Values { get; private set; }
        public int[] Extra { get; private set; }
        public int Count { get; private set; }
        public int Capacity => Keys.Length;
        private int _shift;

        public KeyTable(int expected, bool withExtra)
        {
            int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)expected * 2);
            Keys = new ulong[capacity];
            Values = new int[capacity];
            Extra = withExtra ? new int[capacity] : [];
            _shift = 64 - BitOperations.Log2((uint)capacity);
        }

        /// <summary>The slot of <paramref name="key"/>, or -1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Find(ulong key)
        {
            int mask = Keys.Length - 1;
            for (int slot = Hash(key); ; slot = (slot + 1) & mask)
            {
                ulong found = Keys[slot];
                if (found == key)
                {
                    return slot;
                }

                if (found == 0)
                {
                    return -1;
                }
            }
        }

        /// <summary>The slot of <paramref name="key"/>, claimed now if it was absent. Call <see cref="EnsureRoomFor"/> first.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int FindOrAdd(ulong key, out bool added)
        {
            int mask = Keys.Length - 1;
            for (int slot = Hash(key); ; slot = (slot + 1) & mask)
            {
                ulong found = Keys[slot];
                if (found == key)
                {
                    added = false;
                    return slot;
                }

                if (found == 0)
                {
                    Keys[slot] = key;
                    Count++;
                    added = true;
                    return slot;
                }
            }
        }

        /// <summary>Grows (moving every slot) unless <paramref name="additions"/> more keys keep the table at most half full.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void EnsureRoomFor(int additions)
        {
            if ((Count + additions) * 2 <= Keys.Length)
            {
                return;
            }

            ulong[] keys = Keys;
            int[] values = Values;
            int[] extra = Extra;
            Keys = new ulong[keys.Length * 2];
            Values = new int[keys.Length * 2];
            Extra = extra.Length == 0 ? [] : new int[keys.Length * 2];
            _shift--;
            Count = 0;
            for (int old = 0; old < keys.Length; old++)
            {
                if (keys[old] != 0)
                {
                    int slot = FindOrAdd(keys[old], out _);
                    Values[slot] = values[old];
                    if (extra.Length != 0)
                    {
                        Extra[slot] = extra[old];
                    }
                }
            }
        }

        // Fibonacci hashing: the top bits of the product mix every byte of the key.
        private int Hash(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);
    }
}
