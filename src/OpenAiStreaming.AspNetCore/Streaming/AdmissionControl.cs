using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>The admission state of every model, made on first use.</summary>
internal sealed class AdmissionControl(IOptions<OpenAiStreamingOptions> options)
{
    private readonly ConcurrentDictionary<string, ModelAdmission> _models = new(StringComparer.Ordinal);
    private readonly OpenAiStreamingOptions _options = options.Value;

    /// <summary>The models that have had a request so far: a model never asked for cannot be full.</summary>
    public IEnumerable<KeyValuePair<string, ModelAdmission>> Models => _models;

    public ModelAdmission For(string model) =>
        _models.GetOrAdd(model, static (_, o) => new ModelAdmission(o.MaxConcurrentStreams, o.MaxQueuedStreams), _options);
}
