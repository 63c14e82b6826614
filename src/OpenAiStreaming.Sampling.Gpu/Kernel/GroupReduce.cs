using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>
/// Reductions over the group that give the same bits on every run: a warp-shuffle tree, then every thread adds the
/// warp partials in warp order. No float atomics and no <c>Group.Reduce</c>, whose merge order varies.
/// </summary>
internal static class GroupReduce
{
    /// <summary>The sum of every thread's <paramref name="value"/>, on every thread.</summary>
    public static double Sum(double value, in GroupShared shared)
    {
        for (int offset = Warp.WarpSize / 2; offset > 0; offset >>= 1)
        {
            value += Warp.ShuffleDown(value, offset);
        }

        if (Warp.LaneIdx == 0)
        {
            shared.DoublePartials[Warp.WarpIdx] = value;
        }

        Group.Barrier();
        double total = 0;
        int warps = Group.DimX / Warp.WarpSize;
        for (int w = 0; w < warps; w++)
        {
            total += shared.DoublePartials[w];
        }

        Group.Barrier();
        return total;
    }

    /// <summary>
    /// The largest <paramref name="key"/> over the group with its <paramref name="id"/>, ties to the lower id (compared
    /// unsigned, so -1 loses to every id); on every thread. Keys are never NaN.
    /// </summary>
    public static void ArgMax(ref double key, ref int id, in GroupShared shared)
    {
        for (int offset = Warp.WarpSize / 2; offset > 0; offset >>= 1)
        {
            double otherKey = Warp.ShuffleDown(key, offset);
            int otherId = Warp.ShuffleDown(id, offset);
            if (Beats(otherKey, otherId, key, id))
            {
                key = otherKey;
                id = otherId;
            }
        }

        if (Warp.LaneIdx == 0)
        {
            shared.DoublePartials[Warp.WarpIdx] = key;
            shared.IntPartials[Warp.WarpIdx] = id;
        }

        Group.Barrier();
        key = shared.DoublePartials[0];
        id = shared.IntPartials[0];
        int warps = Group.DimX / Warp.WarpSize;
        for (int w = 1; w < warps; w++)
        {
            if (Beats(shared.DoublePartials[w], shared.IntPartials[w], key, id))
            {
                key = shared.DoublePartials[w];
                id = shared.IntPartials[w];
            }
        }

        Group.Barrier();
    }

    /// <summary>Whether (key, id) ranks before (bestKey, best): a larger key, or an equal key and a lower id.</summary>
    public static bool Beats(double key, int id, double bestKey, int best) =>
        key > bestKey || (key == bestKey && (uint)id < (uint)best);
}
