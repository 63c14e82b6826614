using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>What one pass over a row does with each element (a struct, so that ILGPU inlines it: kernels take no delegates).</summary>
internal interface IVisitor
{
    /// <summary>Called once for every element, by one thread; each thread sees its elements in increasing id order.</summary>
    void Visit(float value, int id);
}

/// <summary>One pass over a row by the whole group: thread <c>t</c> takes quads <c>t, t + G, ...</c> with vector loads, then the tail.</summary>
internal static class RowPass
{
    public static void Run<TRow, TVisitor>(in TRow row, ref TVisitor visitor)
        where TRow : struct, IRow
        where TVisitor : struct, IVisitor
    {
        int start = 0;
        if (row.Aligned)
        {
            int quads = row.Length >> 2;
            for (int q = Group.IdxX; q < quads; q += Group.DimX)
            {
                Float4 v = row.Load4(q);
                int i = q << 2;
                visitor.Visit(v.X, i);
                visitor.Visit(v.Y, i + 1);
                visitor.Visit(v.Z, i + 2);
                visitor.Visit(v.W, i + 3);
            }

            start = quads << 2;
        }

        for (int i = start + Group.IdxX; i < row.Length; i += Group.DimX)
        {
            visitor.Visit(row.Get(i), i);
        }
    }
}
