using System.Globalization;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>
/// One figure of ours against the built-in over paired rounds (round k of each, run back to back on fresh servers): the
/// geometric mean of the round-by-round ratios with its 95% confidence interval (Student's t on their logarithms), and
/// in how many rounds ours was lower. Where two servers' processes differ from one start to the next by more than the
/// servers differ, this tells a difference of a few percent from that spread, which a ratio of medians over five
/// rounds cannot.
/// </summary>
/// <param name="Rounds">The rounds both servers have.</param>
/// <param name="GeometricMean">The geometric mean of ours over the built-in, round by round.</param>
/// <param name="Low">The lower end of its 95% confidence interval.</param>
/// <param name="High">The upper end.</param>
/// <param name="OursLower">The rounds in which ours' figure was below the built-in's.</param>
public readonly record struct PairedComparison(int Rounds, double GeometricMean, double Low, double High, int OursLower)
{
    /// <summary>Student's t at 97.5% for 1 to 30 degrees of freedom.</summary>
    private static readonly double[] s_t975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    /// <summary>The comparison of round-by-round ratios, as <see cref="BenchmarkResults.PairedRatios"/> gives them.</summary>
    /// <param name="ratios">Ours over the built-in, one per round; each above zero.</param>
    /// <returns>The comparison, or null with fewer than two rounds (no interval).</returns>
    public static PairedComparison? Of(IReadOnlyList<double> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        if (ratios.Count < 2)
        {
            return null;
        }

        var logs = ratios.Select(r => Math.Log(r)).ToList();
        double mean = logs.Average();
        double deviation = Math.Sqrt(logs.Sum(l => (l - mean) * (l - mean)) / (logs.Count - 1));
        double half = T975(logs.Count - 1) * deviation / Math.Sqrt(logs.Count);
        return new PairedComparison(ratios.Count, Math.Exp(mean), Math.Exp(mean - half), Math.Exp(mean + half), ratios.Count(r => r < 1));
    }

    /// <summary>Student's t at 97.5%: the table up to 30 degrees of freedom, the Cornish–Fisher expansion's first term beyond.</summary>
    private static double T975(int degrees)
    {
        if (degrees <= s_t975.Length)
        {
            return s_t975[degrees - 1];
        }

        const double Z = 1.959964;
        return Z + (Z * Z * Z + Z) / (4 * degrees);
    }

    /// <summary>One line, e.g. <c>1.024× (95% CI 0.986–1.065) over 20 rounds; ours lower in 8</c>.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture, $"{GeometricMean:F3}× (95% CI {Low:F3}–{High:F3}) over {Rounds} rounds; ours lower in {OursLower}");
}
