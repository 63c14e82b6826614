namespace OpenAiStreaming.Pump.Tests;

/// <summary>Appends text of the same kind and counts one byte a char, so a merged delta counts the sum of its parts.</summary>
internal sealed class TextDeltaMerger : IDeltaMerger<TextDelta>
{
    public static readonly TextDeltaMerger Instance = new();

    public bool TryMerge(TextDelta pending, TextDelta next)
    {
        if (pending.Kind != next.Kind)
        {
            return false;
        }

        pending.Text.Append(next.Text);
        return true;
    }

    public long GetSize(TextDelta delta) => delta.Text.Length;
}
