namespace OpenAiStreaming.Metrics;

/// <summary>
/// The meter's name and the instrument names operators build dashboards on. The GenAI histograms follow the
/// OpenTelemetry semantic conventions; the streaming instruments share the <c>openai_streaming.</c> prefix.
/// </summary>
public static class OpenAiStreamingMetricNames
{
    /// <summary>The one meter every instrument belongs to: <c>OpenAiStreaming</c>.</summary>
    public const string MeterName = "OpenAiStreaming";

    /// <summary>Seconds from request arrival to the flush of the first content chunk.</summary>
    public const string TimeToFirstToken = "gen_ai.server.time_to_first_token";

    /// <summary>Seconds per output token after the first.</summary>
    public const string TimePerOutputToken = "gen_ai.server.time_per_output_token";

    /// <summary>Seconds from request arrival to the end of the response.</summary>
    public const string RequestDuration = "gen_ai.server.request.duration";
}
