using System.Runtime.InteropServices;
using OpenAiStreaming.Sampling;

namespace OpenAiStreaming.Sampling.Cuda.Tests;

/// <summary>The kernel's logic, run on the CPU through its C++ emulation, against CpuSampler.</summary>
public sealed class CudaEmulationTests
{
    [Fact]
    public void Layout_MatchesTheCSharpStructs()
    {
        int[] layout = KernelEmulator.Get().Layout();
        int[] expected =
        [
            Marshal.SizeOf<CudaRowParameters>(),
            .. new[]
            {
                nameof(CudaRowParameters.Seed), nameof(CudaRowParameters.Temperature), nameof(CudaRowParameters.TopP),
                nameof(CudaRowParameters.MinP), nameof(CudaRowParameters.RepetitionPenalty), nameof(CudaRowParameters.FrequencyPenalty),
                nameof(CudaRowParameters.PresencePenalty), nameof(CudaRowParameters.TopK), nameof(CudaRowParameters.Step),
                nameof(CudaRowParameters.PatchOffset), nameof(CudaRowParameters.PatchCount), nameof(CudaRowParameters.Flags),
                nameof(CudaRowParameters.TopLogprobs),
            }.Select(f => (int)Marshal.OffsetOf<CudaRowParameters>(f)),
            Marshal.SizeOf<CudaLogitPatch>(),
            .. new[] { nameof(CudaLogitPatch.Token), nameof(CudaLogitPatch.Bias), nameof(CudaLogitPatch.Count), nameof(CudaLogitPatch.Flags) }
                .Select(f => (int)Marshal.OffsetOf<CudaLogitPatch>(f)),
            Marshal.SizeOf<TokenLogprob>(),
        ];
        Assert.Equal(expected, layout);
    }

    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(~0u, ~0u, ~0u, ~0u, ~0u, ~0u, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox_MatchesKnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3)
    {
        Assert.Equal((x0, x1, x2, x3), KernelEmulator.Get().Philox(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void RandomRows_AgreeWithCpuSampler()
    {
        KernelEmulator emulator = KernelEmulator.Get();
        var random = new Random(20240611);
        var cpu = new CpuSampler();
        var failures = new List<string>();
        const int Rows = 1500;
        for (int row = 0; row < Rows; row++)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            int vocab = random.Next(4) == 0 ? random.Next(1, 40) : random.Next(40, 3000);
            RandomRows.Case c = RandomRows.Next(random, vocab);
            CompareOne(emulator, cpu, c, row, failures);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Rows} rows differ:\n{string.Join('\n', failures.Take(20))}");
    }

    [Fact]
    public void LargeRows_AgreeWithCpuSampler()
    {
        // Past the shared-memory capacity (4096 candidates): the radix descent's deeper levels and the id bisection.
        KernelEmulator emulator = KernelEmulator.Get();
        var random = new Random(77);
        var cpu = new CpuSampler();
        var failures = new List<string>();
        const int Rows = 60;
        for (int row = 0; row < Rows; row++)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            RandomRows.Case c = RandomRows.Next(random, random.Next(9000, 40000));
            CompareOne(emulator, cpu, c, row, failures);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Rows} rows differ:\n{string.Join('\n', failures.Take(20))}");
    }

    [Fact]
    public void Batch_EachRowAsAlone()
    {
        KernelEmulator emulator = KernelEmulator.Get();
        var random = new Random(5);
        const int Batch = 12;
        const int Vocab = 1000;
        var cases = Enumerable.Range(0, Batch).Select(_ => RandomRows.Next(random, Vocab)).ToArray();
        float[] logits = cases.SelectMany(c => c.Logits).ToArray();
        var gpuSequences = cases.Select(RandomRows.Sequence).ToArray();
        var cpuSequences = cases.Select(RandomRows.Sequence).ToArray();
        var gpu = new SampledToken[Batch];
        var cpu = new SampledToken[Batch];
        var gpuTop = new TokenLogprob[Batch * 20];
        var cpuTop = new TokenLogprob[Batch * 20];
        emulator.SampleBatch(logits, gpuSequences, gpu, gpuTop);
        new CpuSampler().SampleBatch(logits, cpuSequences, cpu, cpuTop);
        for (int b = 0; b < Batch; b++)
        {
            Assert.Null(Agreement.Compare(cpu[b], cpuTop.AsSpan(b * 20, 20), gpu[b], gpuTop.AsSpan(b * 20, 20)));
            Assert.Equal(cpuSequences[b].Step, gpuSequences[b].Step);
        }
    }

    [Fact]
    public void HalfAndBFloat16_AgreeWithTheirFloatValues()
    {
        KernelEmulator emulator = KernelEmulator.Get();
        var random = new Random(9);
        var cpu = new CpuSampler();
        for (int row = 0; row < 100; row++)
        {
            RandomRows.Case c = RandomRows.Next(random, random.Next(1, 2000));
            Half[] halves = c.Logits.Select(l => (Half)l).ToArray();
            ushort[] bf16 = c.Logits.Select(l => (ushort)(BitConverter.SingleToUInt32Bits(l) >> 16)).ToArray();
            foreach ((int type, float[] values) in new[]
            {
                (1, halves.Select(h => (float)h).ToArray()),
                (2, bf16.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray()),
            })
            {
                SamplingSequence sequence = RandomRows.Sequence(c);
                var rows = new CudaRowParameters[1];
                var patches = new List<CudaLogitPatch>();
                CudaSamplingBatch.Pack([sequence], values.Length, rows, patches);
                int token = type == 1
                    ? emulator.Run<Half>(type, halves, values.Length, rows, patches).Tokens[0]
                    : emulator.Run<ushort>(type, bf16, values.Length, rows, patches).Tokens[0];
                Assert.Equal(cpu.Sample(values, RandomRows.Sequence(c)).TokenId, token);
            }
        }
    }

    private static void CompareOne(KernelEmulator emulator, CpuSampler cpu, RandomRows.Case c, int row, List<string> failures)
    {
        var cpuTop = new TokenLogprob[20];
        var gpuTop = new TokenLogprob[20];
        SampledToken expected = cpu.Sample(c.Logits, RandomRows.Sequence(c), cpuTop);
        var gpu = new SampledToken[1];
        emulator.SampleBatch(c.Logits, [RandomRows.Sequence(c)], gpu, gpuTop);
        string? difference = Agreement.Compare(expected, cpuTop, gpu[0], gpuTop);
        if (difference is not null)
        {
            SamplingParams p = c.Parameters;
            failures.Add($"row {row} (vocab {c.Logits.Length}, T {p.Temperature}, k {p.TopK}, p {p.TopP}, min_p {p.MinP}, " +
                $"bias {p.LogitBias.Count}, rep {p.RepetitionPenalty}): {difference}");
        }
    }
}
