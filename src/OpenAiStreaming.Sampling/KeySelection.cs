namespace OpenAiStreaming.Sampling;

/// <summary>Selection over packed <see cref="CandidateKey"/>s: linear-time partial ordering, never a full sort.</summary>
internal static class KeySelection
{
    /// <summary>
    /// Rearranges <paramref name="keys"/> so that its first <paramref name="k"/> entries are its <paramref name="k"/>
    /// smallest (in any order) and entry <c>k - 1</c> is the largest of them (introselect: quickselect with a
    /// median-of-three pivot, falling back to a sort of the remaining range when it recurses too deep).
    /// </summary>
    public static void SelectSmallest(Span<ulong> keys, int k)
    {
        if (k <= 0 || k >= keys.Length)
        {
            return;
        }

        int target = k - 1;
        int lo = 0;
        int hi = keys.Length - 1;
        int budget = 2 * (32 - int.LeadingZeroCount(keys.Length));
        while (hi > lo)
        {
            if (budget-- == 0)
            {
                keys[lo..(hi + 1)].Sort();
                return;
            }

            int mid = lo + ((hi - lo) >> 1);
            ulong a = keys[lo], b = keys[mid], c = keys[hi];
            ulong pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));

            // Hoare partition; keys are distinct (they embed the id), so both scans stop at the pivot at the latest.
            int i = lo;
            int j = hi;
            while (i <= j)
            {
                while (keys[i] < pivot)
                {
                    i++;
                }

                while (keys[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }

            if (target <= j)
            {
                hi = j;
            }
            else if (target >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
    }
}
