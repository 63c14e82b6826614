namespace OpenAiStreaming.Pump.Tests;

/// <summary>
/// Stops every merge at a gate until the test opens it, so that a test can act while the producer is inside the
/// merger; then merges like <see cref="TextDeltaMerger"/>, or refuses.
/// </summary>
/// <param name="merges">Whether merges succeed once the gate is open.</param>
internal sealed class GatedMerger(bool merges) : IDeltaMerger<TextDelta>, IDisposable
{
    /// <summary>Bounds the wait at the gate, so that a test that never opens it fails instead of hanging.</summary>
    private static readonly TimeSpan GateLimit = TimeSpan.FromSeconds(10);

    private readonly ManualResetEventSlim _gate = new();
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a merge has reached the gate.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Lets every merge through.</summary>
    public void Open() => _gate.Set();

    public bool TryMerge(TextDelta pending, TextDelta next)
    {
        _entered.TrySetResult();
        _gate.Wait(GateLimit);
        return merges && TextDeltaMerger.Instance.TryMerge(pending, next);
    }

    public long GetSize(TextDelta delta) => delta.Text.Length;

    public void Dispose() => _gate.Dispose();
}
