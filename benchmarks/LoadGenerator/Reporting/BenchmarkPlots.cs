using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>The two plots of the benchmark page, drawn with ScottPlot: throughput against concurrency, and the
/// cumulative distribution of inter-token gaps.</summary>
public static class BenchmarkPlots
{
    /// <summary>Width of each PNG, pixels.</summary>
    public const int Width = 900;

    /// <summary>Height of each PNG, pixels.</summary>
    public const int Height = 540;

    /// <summary>Tokens per second against concurrent streams, one line per server, on a log₂ axis with every
    /// measured concurrency labelled.</summary>
    /// <param name="series">Per server: its name and its (concurrency, tokens/s) points; missing points are left out.</param>
    /// <param name="path">The PNG to write.</param>
    public static void Throughput(IReadOnlyList<(string Server, IReadOnlyList<(int Concurrency, double TokensPerS)> Points)> series, string path)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = NewPlot();
        var concurrencies = series.SelectMany(s => s.Points.Select(p => p.Concurrency)).Distinct().Order().ToList();
        foreach (var (server, points) in series)
        {
            var line = plot.Add.Scatter(points.Select(p => Math.Log2(p.Concurrency)).ToArray(), points.Select(p => p.TokensPerS).ToArray());
            line.LegendText = server;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }

        var ticks = new NumericManual();
        foreach (int c in concurrencies)
        {
            ticks.AddMajor(Math.Log2(c), c.ToString(CultureInfo.InvariantCulture));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Left.TickGenerator = new NumericAutomatic { LabelFormatter = v => v.ToString("N0", CultureInfo.InvariantCulture) };
        if (concurrencies.Count > 0)
        {
            plot.Axes.SetLimitsX(Math.Log2(concurrencies[0]) - 0.3, Math.Log2(concurrencies[^1]) + 0.3);
        }

        plot.Axes.SetLimitsY(0, Math.Max(1, series.SelectMany(s => s.Points).Select(p => p.TokensPerS).DefaultIfEmpty().Max()) * 1.08);
        plot.Title("Throughput against concurrency (instant backend, 1,000-token streams)");
        plot.XLabel("concurrent streams");
        plot.YLabel("tokens delivered per second");
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>The fraction of gaps at most x against the gap x, one step line per server, on a log₁₀ axis from 1 ms.</summary>
    /// <param name="streams">The number of open streams the gaps were measured at, for the title.</param>
    /// <param name="series">Per server: its name and its inter-token gap histogram (upper bound in ms, count), ascending.</param>
    /// <param name="path">The PNG to write.</param>
    public static void Gaps(int streams, IReadOnlyList<(string Server, IReadOnlyList<(double UpperBoundMs, long Count)> Histogram)> series, string path)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = NewPlot();
        double largest = 1;
        foreach (var (server, histogram) in series)
        {
            double total = Math.Max(1, histogram.Sum(b => b.Count));
            long seen = 0;
            var xs = new double[histogram.Count];
            var ys = new double[histogram.Count];
            for (int i = 0; i < histogram.Count; i++)
            {
                seen += histogram[i].Count;
                xs[i] = Math.Log10(histogram[i].UpperBoundMs);
                ys[i] = seen / total;
                largest = Math.Max(largest, histogram[i].UpperBoundMs);
            }

            var line = plot.Add.Scatter(xs, ys);
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.LegendText = server;
            line.LineWidth = 2;
            line.MarkerSize = 0;
        }

        var ticks = new NumericManual();
        for (int decade = 0; decade <= Math.Ceiling(Math.Log10(largest)); decade++)
        {
            ticks.AddMajor(decade, Math.Pow(10, decade).ToString("N0", CultureInfo.InvariantCulture));
            for (int k = 2; k < 10; k++)
            {
                ticks.AddMinor(decade + Math.Log10(k));
            }
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Left.TickGenerator = new NumericFixedInterval(0.1);
        plot.Axes.SetLimits(0, Math.Log10(largest) * 1.02, 0, 1.02);
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"Inter-token gaps at {streams:N0} open streams, 20 tokens/s each (cumulative)"));
        plot.XLabel("gap between tokens (ms)");
        plot.YLabel("fraction of gaps at most x");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, Width, Height);
    }

    private static Plot NewPlot()
    {
        var plot = new Plot();
        // The font the gnuplot plots used; where it is missing, SkiaSharp falls back to a font that is there.
        plot.Font.Set("DejaVu Sans");
        return plot;
    }
}
