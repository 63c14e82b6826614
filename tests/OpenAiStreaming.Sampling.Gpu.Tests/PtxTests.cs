using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ILGPU.Runtime.Cuda;
using OpenAiStreaming.Sampling.Gpu.Interop;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>The PTX that the driver-API path loads, generated here without a GPU.</summary>
public sealed partial class PtxTests
{
    [Theory]
    [InlineData(8, 0)]
    [InlineData(9, 0)]
    public void GeneratePtx_HasTheEntryPointAndTheArgumentLayoutTheDriverPathFills(int major, int minor)
    {
        string ptx = GpuSampler.GeneratePtx(new CudaArchitecture(major, minor));

        // ILGPU targets the lowest architecture the kernel needs; the driver JIT-compiles it for the device.
        Match target = Regex.Match(ptx, @"\.target sm_(\d+)");
        Assert.InRange(int.Parse(target.Groups[1].Value, CultureInfo.InvariantCulture), 80, (major * 10) + minor);
        Match entry = EntryRegex().Match(ptx);
        Assert.True(entry.Success, "no .entry " + CudaContextSampler.EntryPoint);
        Assert.Equal(PtxArguments.Size, int.Parse(entry.Groups["size"].Value, CultureInfo.InvariantCulture));
        Assert.Equal(1, EntryRegex().Count(ptx));

        // Every offset the kernel reads from its parameter is a field of PtxArguments, with the field's width.
        string parameter = entry.Groups["name"].Value;
        var expected = new Dictionary<int, int>();
        foreach (System.Reflection.FieldInfo field in typeof(PtxArguments).GetFields())
        {
            if (!field.IsLiteral && !field.IsStatic)
            {
                int offset = Marshal.OffsetOf<PtxArguments>(field.Name).ToInt32();
                expected[offset] = Marshal.SizeOf(field.FieldType) * 8;
            }
        }

        var read = new Dictionary<int, int>();
        foreach (Match load in Regex.Matches(ptx, $@"ld\.param\.[bsuf](?<bits>\d+)\s+%\w+,\s*\[{Regex.Escape(parameter)}(\+(?<offset>\d+))?\]"))
        {
            int offset = load.Groups["offset"].Success ? int.Parse(load.Groups["offset"].Value, CultureInfo.InvariantCulture) : 0;
            read[offset] = int.Parse(load.Groups["bits"].Value, CultureInfo.InvariantCulture);
        }

        Assert.Equal(expected.OrderBy(x => x.Key), read.OrderBy(x => x.Key));
    }

    [Fact]
    public void GeneratePtx_SharedMemory_StaysWithinTheDefault48KBPerGroup()
    {
        string ptx = GpuSampler.GeneratePtx(CudaArchitecture.SM_80);
        int bytes = Regex.Matches(ptx, @"\.shared \.align \d+ \.b8 \w+\[(\d+)\]").Sum(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.InRange(bytes, 16 * 1024, 48 * 1024);
    }

    [Fact]
    public void GeneratePtx_BelowSm80_ThrowsNotSupported() =>
        Assert.Throws<NotSupportedException>(() => GpuSampler.GeneratePtx(CudaArchitecture.SM_75));

    [GeneratedRegex(@"\.visible \.entry Kernel_SampleRows\(\s*\.param \.align 8 \.b8 (?<name>\w+)\[(?<size>\d+)\]\s*\)")]
    private static partial Regex EntryRegex();
}
