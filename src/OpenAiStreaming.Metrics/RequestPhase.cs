namespace OpenAiStreaming.Metrics;

/// <summary>The phase a request is in, which a disconnect is counted under.</summary>
public enum RequestPhase
{
    /// <summary>Waiting for admission.</summary>
    Waiting,

    /// <summary>Admitted, no content flushed yet (the model's prefill).</summary>
    BeforeFirstToken,

    /// <summary>Content has reached the client.</summary>
    Streaming,
}
