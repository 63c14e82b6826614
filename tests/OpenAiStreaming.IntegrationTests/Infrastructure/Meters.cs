using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>
/// <see cref="MetricCollector{T}"/>s of one app's <c>OpenAiStreaming</c> instruments: by the app's meter factory, so
/// tests running side by side do not mix.
/// </summary>
public static class Meters
{
    /// <summary>Collects <paramref name="instrument"/> of <paramref name="app"/> from now on.</summary>
    public static MetricCollector<T> Collect<T>(TestApp app, string instrument)
        where T : struct =>
        new(app.App.Services.GetRequiredService<IMeterFactory>(), OpenAiStreamingMetricNames.MeterName, instrument);

    /// <summary>The measurements tagged with <paramref name="model"/>.</summary>
    public static List<CollectedMeasurement<T>> ForModel<T>(this MetricCollector<T> collector, string model)
        where T : struct =>
        [.. collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags.GetValueOrDefault(OpenAiStreamingMetricNames.ModelTag), model))];

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, re-checking after each new measurement of any of
    /// <paramref name="collectors"/>; fails the test after 10 seconds.
    /// </summary>
    public static async Task WaitUntilAsync<T>(Func<bool> condition, string what, params MetricCollector<T>[] collectors)
        where T : struct
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            // Counted before the check, so that a measurement between the two wakes the wait below at once.
            int[] counts = [.. collectors.Select(c => c.GetMeasurementSnapshot().Count)];
            if (condition())
            {
                return;
            }

            try
            {
                await await Task.WhenAny(collectors.Select((c, i) => c.WaitForMeasurementsAsync(counts[i] + 1, timeout.Token)));
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
        }
    }
}
