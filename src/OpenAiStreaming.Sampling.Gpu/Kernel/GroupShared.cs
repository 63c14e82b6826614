using ILGPU;
using ILGPU.Runtime;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>
/// The group's shared memory, allocated once by the entry point: about 19 KB, well inside ILGPU's 48 KB per group.
/// </summary>
internal readonly struct GroupShared
{
    /// <summary>The most candidates gathered and sorted in shared memory.</summary>
    public const int Capacity = 2048;

    /// <summary>Buckets of one radix level (8 bits of the 64-bit key).</summary>
    public const int Buckets = 256;

    /// <summary>The most warps a group has (1024 threads of 32).</summary>
    public const int MaxWarps = 32;

    /// <summary>Candidate keys (16 KB).</summary>
    public readonly ArrayView<ulong> Keys;

    /// <summary>Elements per bucket.</summary>
    public readonly ArrayView<int> Counts;

    /// <summary>Mass per bucket in fixed point: integer sums do not depend on the order of the atomics.</summary>
    public readonly ArrayView<ulong> Masses;

    /// <summary>One partial per warp for double reductions.</summary>
    public readonly ArrayView<double> DoublePartials;

    /// <summary>One partial per warp for the id half of an argmax, or integer sums.</summary>
    public readonly ArrayView<int> IntPartials;

    /// <summary>Scalars that one thread decides and all read.</summary>
    public readonly ArrayView<long> Scalars;

    /// <summary>Double scalars that one thread decides and all read.</summary>
    public readonly ArrayView<double> DoubleScalars;

    public GroupShared(
        ArrayView<ulong> keys, ArrayView<int> counts, ArrayView<ulong> masses, ArrayView<double> doublePartials,
        ArrayView<int> intPartials, ArrayView<long> scalars, ArrayView<double> doubleScalars)
    {
        Keys = keys;
        Counts = counts;
        Masses = masses;
        DoublePartials = doublePartials;
        IntPartials = intPartials;
        Scalars = scalars;
        DoubleScalars = doubleScalars;
    }

    /// <summary>Allocates the group's shared memory; call from the entry point only.</summary>
    public static GroupShared Allocate() => new(
        SharedMemory.Allocate<ulong>(Capacity),
        SharedMemory.Allocate<int>(Buckets),
        SharedMemory.Allocate<ulong>(Buckets),
        SharedMemory.Allocate<double>(MaxWarps),
        SharedMemory.Allocate<int>(MaxWarps),
        SharedMemory.Allocate<long>(8),
        SharedMemory.Allocate<double>(4));
}
