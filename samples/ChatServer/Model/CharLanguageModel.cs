using System.Runtime.InteropServices;
using System.Text;

namespace ChatServer.Model;

/// <summary>
/// A character-level language model: interpolated Kneser-Ney over character n-grams, trained by counting.
/// Immutable once trained, so one instance serves any number of concurrent streams.
/// </summary>
/// <remarks>
/// The vocabulary is newline, printable ASCII and every other printable character of the training text, so the model
/// still works (uniformly, at worst) on an empty text. Characters outside the vocabulary encode as a space.
/// The highest order uses raw counts; lower orders use continuation counts (how many distinct characters precede
/// a context), which is what lets Kneser-Ney rank "San Francisco"-style continuations correctly.
/// </remarks>
internal sealed class CharLanguageModel
{
    /// <summary>The largest supported n-gram order.</summary>
    public const int MaxOrder = 10;

    private const char FallbackCharacter = ' ';

    /// <summary>Vocabulary characters by token id.</summary>
    private readonly char[] _characters;
    /// <summary>Token id of each ASCII character, or -1.</summary>
    private readonly int[] _asciiTokens;
    /// <summary>Token ids of the characters above ASCII.</summary>
    private readonly Dictionary<char, int> _otherTokens;
    private readonly int _fallbackToken;

    /// <summary>Context trie keyed by <c>parent * V + token</c>, where a child prepends one older character.</summary>
    private readonly Dictionary<long, int> _children;
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

    private CharLanguageModel(
        int order,
        int trainingLength,
        char[] characters,
        int[] asciiTokens,
        Dictionary<char, int> otherTokens,
        Dictionary<long, int> children,
        int[] followerStart,
        int[] followerToken,
        int[] followerCount,
        int[] followerContinuation,
        int[] countTotal,
        int[] continuationTotal,
        int[] continuationTypes,
        float[] countDiscount,
        float[] continuationDiscount)
    {
        Order = order;
        TrainingLength = trainingLength;
        _characters = characters;
        _asciiTokens = asciiTokens;
        _otherTokens = otherTokens;
        _fallbackToken = asciiTokens[FallbackCharacter];
        _children = children;
        _followerStart = followerStart;
        _followerToken = followerToken;
        _followerCount = followerCount;
        _followerContinuation = followerContinuation;
        _countTotal = countTotal;
        _continuationTotal = continuationTotal;
        _continuationTypes = continuationTypes;
        _countDiscount = countDiscount;
        _continuationDiscount = continuationDiscount;
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
        (char[] characters, int[] asciiTokens, Dictionary<char, int> otherTokens) = BuildVocabulary(normalized);
        int v = characters.Length;

        var tokens = new int[normalized.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            char c = normalized[i];
            tokens[i] = c < 128 ? asciiTokens[c] : otherTokens[c];
        }

        // Count every n-gram of length 1..order. An n-gram's context is a trie node; its entry holds the raw count and
        // the continuation count (distinct one-character-longer contexts seen with the same next character).
        int capacity = Math.Min(tokens.Length * order, 1 << 22) + 16;
        var children = new Dictionary<long, int>(capacity / 2);
        var entries = new Dictionary<long, int>(capacity);
        var nodeDepth = new List<int> { 0 };
        var entryNode = new List<int>(capacity);
        var entryToken = new List<int>(capacity);
        var entryCount = new List<int>(capacity);
        var entryContinuation = new List<int>(capacity);

        for (int i = 0; i < tokens.Length; i++)
        {
            int next = tokens[i];
            int node = 0;
            int shorterEntry = -1;
            for (int k = 0; ; k++)
            {
                ref int entry = ref CollectionsMarshal.GetValueRefOrAddDefault(entries, ((long)node * v) + next, out bool seen);
                if (!seen)
                {
                    entry = entryNode.Count;
                    entryNode.Add(node);
                    entryToken.Add(next);
                    entryCount.Add(0);
                    entryContinuation.Add(0);
                    if (shorterEntry >= 0)
                    {
                        entryContinuation[shorterEntry]++;
                    }
                }

                int index = entry;
                entryCount[index]++;
                shorterEntry = index;

                if (k == order - 1 || i - 1 - k < 0)
                {
                    break;
                }

                ref int child = ref CollectionsMarshal.GetValueRefOrAddDefault(children, ((long)node * v) + tokens[i - 1 - k], out bool exists);
                if (!exists)
                {
                    child = nodeDepth.Count;
                    nodeDepth.Add(k + 1);
                }

                node = child;
            }
        }

        // Lay the entries out by node (counting sort), so a step reads one contiguous run per context.
        int nodes = nodeDepth.Count;
        int entryTotal = entryNode.Count;
        var followerStart = new int[nodes + 1];
        for (int e = 0; e < entryTotal; e++)
        {
            followerStart[entryNode[e] + 1]++;
        }

        for (int n = 0; n < nodes; n++)
        {
            followerStart[n + 1] += followerStart[n];
        }

        var cursor = (int[])followerStart.Clone();
        var followerToken = new int[entryTotal];
        var followerCount = new int[entryTotal];
        var followerContinuation = new int[entryTotal];
        var countTotal = new int[nodes];
        var continuationTotal = new int[nodes];
        var continuationTypes = new int[nodes];
        var countOnes = new long[order];
        var countTwos = new long[order];
        var continuationOnes = new long[order];
        var continuationTwos = new long[order];
        for (int e = 0; e < entryTotal; e++)
        {
            int n = entryNode[e];
            int slot = cursor[n]++;
            int count = entryCount[e];
            int continuation = entryContinuation[e];
            followerToken[slot] = entryToken[e];
            followerCount[slot] = count;
            followerContinuation[slot] = continuation;
            countTotal[n] += count;
            continuationTotal[n] += continuation;
            if (continuation > 0)
            {
                continuationTypes[n]++;
            }

            int depth = nodeDepth[n];
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

        return new CharLanguageModel(
            order,
            tokens.Length,
            characters,
            asciiTokens,
            otherTokens,
            children,
            followerStart,
            followerToken,
            followerCount,
            followerContinuation,
            countTotal,
            continuationTotal,
            continuationTypes,
            countDiscount,
            continuationDiscount);
    }

    /// <summary>The character of a token id.</summary>
    public char Decode(int token)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, _characters.Length);
        return _characters[token];
    }

    /// <summary>The token id of a character; characters outside the vocabulary encode as a space.</summary>
    public int Encode(char c)
    {
        if (c < 128)
        {
            int token = _asciiTokens[c];
            return token >= 0 ? token : c == '\r' ? _asciiTokens['\n'] : _fallbackToken;
        }

        return _otherTokens.TryGetValue(c, out int other) ? other : _fallbackToken;
    }

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

        // Find the context nodes from the empty context up to the longest one seen in training.
        int requested = Math.Min(Order - 1, context.Length);
        Span<int> path = stackalloc int[MaxOrder];
        path[0] = 0;
        int found = 0;
        for (int k = 1; k <= requested; k++)
        {
            int token = context[^k];
            if ((uint)token >= (uint)v)
            {
                throw new ArgumentOutOfRangeException(nameof(context), token, "A context token is outside the vocabulary.");
            }

            if (!_children.TryGetValue(((long)path[k - 1] * v) + token, out int child))
            {
                break;
            }

            path[k] = child;
            found = k;
        }

        // Interpolate from the uniform distribution upwards: p_k = max(c - D, 0) / N + (D * T / N) * p_{k-1}.
        // Every term keeps some mass from the level below, so no probability is ever zero.
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

    private static (char[] Characters, int[] AsciiTokens, Dictionary<char, int> OtherTokens) BuildVocabulary(string text)
    {
        var set = new SortedSet<char> { '\n' };
        for (char c = ' '; c <= '~'; c++)
        {
            set.Add(c);
        }

        foreach (char c in text)
        {
            set.Add(c);
        }

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

        return (characters, asciiTokens, otherTokens);
    }
}
