using System.Globalization;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>How the benchmark page writes numbers: a dash for a missing one, thousands without decimals.</summary>
public static class MarkdownFormat
{
    /// <summary>The dash written for a missing figure.</summary>
    public const string Missing = "–";

    /// <summary>A number with <paramref name="digits"/> decimals, or with none and thousands separators from 1,000 up.</summary>
    /// <param name="value">The number, or null.</param>
    /// <param name="digits">Decimals below 1,000.</param>
    /// <returns>For example <c>54.3</c>, <c>1,057</c> or <c>–</c>.</returns>
    public static string Number(double? value, int digits = 1) => value switch
    {
        null => Missing,
        { } x when Math.Abs(x) >= 1000 => x.ToString("N0", CultureInfo.InvariantCulture),
        { } x => x.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
    };

    /// <summary><paramref name="a"/> / <paramref name="b"/> as a factor, e.g. <c>1.25×</c>.</summary>
    /// <param name="a">The numerator, or null.</param>
    /// <param name="b">The denominator, or null.</param>
    /// <returns>The factor, or a dash when either is missing or <paramref name="b"/> is 0.</returns>
    public static string Ratio(double? a, double? b) =>
        a is { } x && b is { } y && y != 0 ? (x / y).ToString("F2", CultureInfo.InvariantCulture) + "×" : Missing;

    /// <summary>Whether a target holds, in bold.</summary>
    /// <param name="holds">True when it does.</param>
    /// <returns><c>**holds**</c> or <c>**misses**</c>.</returns>
    public static string Verdict(bool holds) => holds ? "**holds**" : "**misses**";
}
