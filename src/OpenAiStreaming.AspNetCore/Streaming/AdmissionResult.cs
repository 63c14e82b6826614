namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>What <see cref="ModelAdmission.TryEnter"/> decided.</summary>
internal enum AdmissionResult
{
    /// <summary>A slot was free: the request runs now.</summary>
    Admitted,

    /// <summary>No slot, but room in the queue: wait with <see cref="ModelAdmission.WaitAsync"/>.</summary>
    Queued,

    /// <summary>No slot and no room in the queue: answer 429.</summary>
    Rejected,
}
