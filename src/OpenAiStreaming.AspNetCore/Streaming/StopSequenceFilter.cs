namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// Applies a request's stop strings to one choice's text, whether or not the backend honours them: text that could be
/// the start of a stop string is held back until it is known not to be one (across deltas), and the text is cut exactly
/// before the first stop string (after it with <c>include_stop_str_in_output</c>). Held text is released in whole
/// deltas, so each token's logprob stays with its text; the delta a stop string cuts keeps its logprob.
/// </summary>
internal sealed class StopSequenceFilter(IReadOnlyList<string> stops, bool includeStop, int choice)
{
    /// <summary>Text deltas held back, oldest first.</summary>
    private readonly List<ChatDelta> _held = [];

    /// <summary>The text of <see cref="_held"/>, concatenated.</summary>
    private string _heldText = string.Empty;

    /// <summary>True once a stop string was found: the choice is over.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Takes one text delta; adds what may go to the client now to <paramref name="output"/>.</summary>
    /// <returns>True when a stop string completed: the choice is over and the model should stop.</returns>
    public bool Push(ChatDelta delta, List<ChatDelta> output)
    {
        if (Stopped)
        {
            return true;
        }

        _held.Add(delta);
        _heldText += delta.Text;

        int stopAt = -1;
        int stopLength = 0;
        foreach (string stop in stops)
        {
            int at = _heldText.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt))
            {
                stopAt = at;
                stopLength = stop.Length;
            }
        }

        if (stopAt >= 0)
        {
            Stopped = true;
            Release(stopAt + (includeStop ? stopLength : 0), cutLast: true, output);
            return true;
        }

        // Keep the longest tail that is a proper prefix of some stop string.
        int hold = 0;
        foreach (string stop in stops)
        {
            for (int length = Math.Min(stop.Length - 1, _heldText.Length); length > hold; length--)
            {
                if (_heldText.AsSpan(_heldText.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    hold = length;
                    break;
                }
            }
        }

        Release(_heldText.Length - hold, cutLast: false, output);
        return false;
    }

    /// <summary>Releases everything held: the choice ended without a stop string.</summary>
    public void Flush(List<ChatDelta> output)
    {
        if (!Stopped)
        {
            Release(_heldText.Length, cutLast: false, output);
        }
    }

    /// <summary>
    /// Releases the held deltas that end within the first <paramref name="length"/> characters; with
    /// <paramref name="cutLast"/>, also the part of the next one up to <paramref name="length"/>.
    /// </summary>
    private void Release(int length, bool cutLast, List<ChatDelta> output)
    {
        int position = 0;
        int released = 0;
        while (released < _held.Count && position + _held[released].TextLength <= length)
        {
            position += _held[released].TextLength;
            output.Add(_held[released++]);
        }

        if (cutLast && released < _held.Count && length > position)
        {
            var cut = _held[released++];
            output.Add(ChatDelta.Cut(cut.Text[..(length - position)], [.. cut.Logprobs], choice));
            position = length;
        }

        _held.RemoveRange(0, cutLast ? _held.Count : released);
        _heldText = cutLast ? string.Empty : _heldText[position..];
    }
}
