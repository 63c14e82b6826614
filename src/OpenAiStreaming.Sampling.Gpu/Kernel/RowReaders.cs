using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>One row of logits as the kernel reads it: four consecutive elements per load, converted to float.</summary>
internal interface IRow
{
    /// <summary>Elements in the row.</summary>
    int Length { get; }

    /// <summary>Whether <see cref="Load4"/> may be used (the row starts on a 16-byte boundary for fp32, 8 for 16-bit types).</summary>
    bool Aligned { get; }

    /// <summary>Element <paramref name="i"/> as a float.</summary>
    float Get(int i);

    /// <summary>Elements <c>4 q</c> to <c>4 q + 3</c> in one vector load.</summary>
    Float4 Load4(int q);
}

/// <summary>Four floats: one 16-byte load.</summary>
internal struct Float4
{
    public float X;
    public float Y;
    public float Z;
    public float W;
}

/// <summary>Four 16-bit values: one 8-byte load.</summary>
internal struct Short4
{
    public ushort X;
    public ushort Y;
    public ushort Z;
    public ushort W;
}

/// <summary>An fp32 row.</summary>
internal readonly struct Float32Row(ArrayView<float> row, ArrayView<Float4> quads) : IRow
{
    public int Length => (int)row.Length;

    public bool Aligned => quads.Length > 0;

    public float Get(int i) => row[i];

    public Float4 Load4(int q) => quads[q];
}

/// <summary>An fp16 row (IEEE half), converted exactly.</summary>
internal readonly struct Float16Row(ArrayView<ushort> row, ArrayView<Short4> quads) : IRow
{
    public int Length => (int)row.Length;

    public bool Aligned => quads.Length > 0;

    public float Get(int i) => HalfToFloat(row[i]);

    public Float4 Load4(int q)
    {
        Short4 s = quads[q];
        return new Float4 { X = HalfToFloat(s.X), Y = HalfToFloat(s.Y), Z = HalfToFloat(s.Z), W = HalfToFloat(s.W) };
    }

    /// <summary>Exact conversion by bits (no hardware half type needed).</summary>
    internal static float HalfToFloat(ushort h)
    {
        uint sign = (uint)(h & 0x8000) << 16;
        uint exponent = (uint)(h >> 10) & 0x1F;
        uint mantissa = (uint)h & 0x3FF;
        if (exponent == 0x1F)
        {
            return ILGPU.Interop.IntAsFloat(sign | 0x7F80_0000u | (mantissa << 13));
        }

        if (exponent == 0)
        {
            // Zero or subnormal: mantissa * 2^-24, exact in float.
            float f = mantissa * 5.9604644775390625e-8f;
            return sign != 0 ? -f : f;
        }

        return ILGPU.Interop.IntAsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}

/// <summary>A bf16 row: the upper half of an fp32, converted exactly.</summary>
internal readonly struct BFloat16Row(ArrayView<ushort> row, ArrayView<Short4> quads) : IRow
{
    public int Length => (int)row.Length;

    public bool Aligned => quads.Length > 0;

    public float Get(int i) => ILGPU.Interop.IntAsFloat((uint)row[i] << 16);

    public Float4 Load4(int q)
    {
        Short4 s = quads[q];
        return new Float4
        {
            X = ILGPU.Interop.IntAsFloat((uint)s.X << 16),
            Y = ILGPU.Interop.IntAsFloat((uint)s.Y << 16),
            Z = ILGPU.Interop.IntAsFloat((uint)s.Z << 16),
            W = ILGPU.Interop.IntAsFloat((uint)s.W << 16),
        };
    }
}
