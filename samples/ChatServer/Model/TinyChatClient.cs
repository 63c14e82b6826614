using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.Sampling;

namespace ChatServer.Model;

/// <summary>
/// Serves a <see cref="CharLanguageModel"/> as an <see cref="IChatClient"/>: every step computes the model's logits for
/// the text so far, picks one character with the CPU sampler, and streams it as one update.
/// </summary>
/// <remarks>
/// The context is the last user message followed by a blank line, so the model answers as if starting a new paragraph
/// of the docs. Penalties count the generated characters only, as OpenAI's do. Safe for concurrent streams: the model is
/// immutable and each stream gets a sampler of its own.
/// </remarks>
internal sealed class TinyChatClient : IChatClient
{
    /// <summary>The model id and provider name this client reports.</summary>
    public const string DefaultModelId = "tiny-char-lm";

    /// <summary>The most tokens one response may ask for: the context buffer is sized by it.</summary>
    public const int MaxTokensLimit = 16_384;

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key of vLLM's min_p.</summary>
    public const string MinPKey = "min_p";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key of vLLM's repetition_penalty.</summary>
    public const string RepetitionPenaltyKey = "repetition_penalty";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key of vLLM's stop_token_ids (an int[]).</summary>
    public const string StopTokenIdsKey = "stop_token_ids";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key of OpenAI's logit_bias (token id to bias).</summary>
    public const string LogitBiasKey = "logit_bias";

    /// <summary>What this model can do beyond text: it reports logprobs from the sampler.</summary>
    private static readonly ChatModelCapabilities s_capabilities = new() { Logprobs = true };

    /// <summary>What separates the prompt from the answer in the model's context.</summary>
    private const string PromptSeparator = "\n\n";

    private readonly CharLanguageModel _model;
    private readonly TinyModelOptions _options;
    private readonly ChatClientMetadata _metadata;
    /// <summary>A sampler no stream is using, or null; a stream that finds none makes its own (CpuSampler is single-threaded).</summary>
    private CpuSampler? _idleSampler;

    /// <summary>Creates a client over <paramref name="model"/> with new samplers and the given options.</summary>
    public TinyChatClient(CharLanguageModel model, TinyModelOptions? options = null)
        : this(model, new CpuSampler(), options)
    {
    }

    /// <summary>
    /// Creates a client over <paramref name="model"/> that samples with <paramref name="sampler"/>; concurrent streams
    /// beyond the first use samplers of their own, since one sampler serves one stream at a time.
    /// </summary>
    public TinyChatClient(CharLanguageModel model, CpuSampler sampler, TinyModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampler);
        options ??= new TinyModelOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TokenDelay, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DefaultMaxTokens, 1, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.ModelId, nameof(options));

        _model = model;
        _idleSampler = sampler;
        _options = options;
        _metadata = new ChatClientMetadata(DefaultModelId, providerUri: null, options.ModelId);
    }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);

        // Everything that can be wrong with the request fails here, before the first token is awaited.
        string prompt = BuildPrompt(messages);
        SamplingParams sampling = ToSamplingParams(options);
        int maxTokens = options?.MaxOutputTokens ?? _options.DefaultMaxTokens;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1, nameof(options));
        if (maxTokens > MaxTokensLimit)
        {
            // The endpoint turns an ArgumentException thrown here into a 400 with this message.
            throw new ArgumentException($"max_tokens must be at most {MaxTokensLimit} for this model.");
        }

        string[] stops = options?.StopSequences?.Where(s => !string.IsNullOrEmpty(s)).ToArray() ?? [];
        // An unseeded request gets a seed from a strong source (SamplingSequence.Seed reports it).
        sampling.Seed = options?.Seed is long requested ? unchecked((ulong)requested) : null;
        var sequence = new SamplingSequence(sampling);
        string modelId = options?.ModelId ?? _options.ModelId;
        HashSet<int> stopTokens = ReadStopTokens(options?.AdditionalProperties);

        return GenerateAsync(prompt, sequence, maxTokens, stops, stopTokens, modelId, cancellationToken);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType == typeof(ChatModelCapabilities) ? s_capabilities
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_model) ? _model
            : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private async IAsyncEnumerable<ChatResponseUpdate> GenerateAsync(
        string prompt,
        SamplingSequence sequence,
        int maxTokens,
        string[] stops,
        HashSet<int> stopTokens,
        string modelId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TimeProvider time = _options.TimeProvider;
        TimeSpan delay = _options.TokenDelay;
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        DateTimeOffset createdAt = time.GetUtcNow();

        // The context holds the prompt and then every generated token; the sequence counts the generated ones for the penalties.
        var context = new int[prompt.Length + maxTokens];
        _model.Encode(prompt, context);
        var generated = new char[maxTokens];
        var logits = new float[_model.VocabularySize];
        bool logprobs = sequence.Parameters.Logprobs;
        var tokenLogprobs = logprobs ? new LogprobContent[maxTokens] : null;
        var top = new TokenLogprob[sequence.Parameters.TopLogprobs];
        int count = 0;
        int emitted = 0;
        ChatFinishReason finishReason = ChatFinishReason.Length;

        GpuSamplerHost? gpu = _options.GpuSampler;
        CpuSampler sampler = Interlocked.Exchange(ref _idleSampler, null) ?? new CpuSampler();
        try
        {
            while (count < maxTokens)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                }

                _model.ComputeLogits(context.AsSpan(0, prompt.Length + count), logits);
                // The GPU path reports no top logprobs, so a request that asks for logprobs samples on the CPU.
                SampledToken sampled = gpu is null || logprobs ? sampler.Sample(logits, sequence, top) : gpu.Sample(logits, sequence);
                int token = sampled.TokenId;
                if (stopTokens.Contains(token))
                {
                    finishReason = ChatFinishReason.Stop;
                    break;
                }

                context[prompt.Length + count] = token;
                if (tokenLogprobs is not null)
                {
                    tokenLogprobs[count] = ToLogprob(sampled, top);
                }

                generated[count++] = _model.Decode(token);

                // Hold back any tail that could still grow into a stop sequence; drop a completed one unsent.
                (int sendable, bool stopped) = Scan(generated.AsSpan(0, count), stops);
                for (; emitted < sendable; emitted++)
                {
                    yield return NewTokenUpdate(emitted);
                }

                if (stopped)
                {
                    finishReason = ChatFinishReason.Stop;
                    break;
                }
            }
        }
        finally
        {
            Interlocked.CompareExchange(ref _idleSampler, sampler, null);
        }

        if (finishReason == ChatFinishReason.Length)
        {
            // The last characters were held back as a possible stop sequence that never completed.
            for (; emitted < count; emitted++)
            {
                yield return NewTokenUpdate(emitted);
            }
        }

        ChatResponseUpdate last = NewUpdate(new UsageContent(new UsageDetails
        {
            InputTokenCount = prompt.Length,
            OutputTokenCount = count,
            TotalTokenCount = prompt.Length + count,
        }));
        last.FinishReason = finishReason;
        yield return last;

        ChatResponseUpdate NewUpdate(AIContent content) => new(ChatRole.Assistant, [content])
        {
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = modelId,
            CreatedAt = createdAt,
        };

        ChatResponseUpdate NewTokenUpdate(int position)
        {
            ChatResponseUpdate update = NewUpdate(new TextContent(generated[position].ToString()));
            if (tokenLogprobs is not null)
            {
                update.Contents.Add(tokenLogprobs[position]);
            }

            return update;
        }
    }

    /// <summary>The sampler's report of one token, with the token ids decoded to their characters.</summary>
    private LogprobContent ToLogprob(SampledToken sampled, TokenLogprob[] top)
    {
        var alternatives = new TopLogprob[sampled.TopLogprobCount];
        for (int i = 0; i < alternatives.Length; i++)
        {
            alternatives[i] = new TopLogprob(_model.Decode(top[i].TokenId).ToString(), top[i].Logprob);
        }

        return new LogprobContent(_model.Decode(sampled.TokenId).ToString(), sampled.Logprob, alternatives);
    }

    private static HashSet<int> ReadStopTokens(AdditionalPropertiesDictionary? properties) =>
        properties?.TryGetValue(StopTokenIdsKey, out object? value) == true && value is IEnumerable<int> ids ? [.. ids] : [];

    /// <summary>
    /// How many leading characters of <paramref name="text"/> can be sent, and whether it ends with a stop sequence
    /// (then the count stops before it).
    /// </summary>
    private static (int Sendable, bool Stopped) Scan(ReadOnlySpan<char> text, string[] stops)
    {
        int held = 0;
        foreach (string stop in stops)
        {
            if (text.EndsWith(stop, StringComparison.Ordinal))
            {
                return (text.Length - stop.Length, true);
            }

            for (int length = Math.Min(stop.Length - 1, text.Length); length > held; length--)
            {
                if (text.EndsWith(stop.AsSpan(0, length), StringComparison.Ordinal))
                {
                    held = length;
                    break;
                }
            }
        }

        return (text.Length - held, false);
    }

    private static string BuildPrompt(IEnumerable<ChatMessage> messages)
    {
        ChatMessage? last = null;
        ChatMessage? lastUser = null;
        foreach (ChatMessage message in messages)
        {
            last = message;
            if (message.Role == ChatRole.User)
            {
                lastUser = message;
            }
        }

        return ((lastUser ?? last)?.Text ?? string.Empty).Trim() + PromptSeparator;
    }

    private static SamplingParams ToSamplingParams(ChatOptions? options)
    {
        var sampling = new SamplingParams();
        if (options is not null)
        {
            sampling.Temperature = options.Temperature ?? sampling.Temperature;
            sampling.TopP = options.TopP ?? sampling.TopP;
            sampling.TopK = options.TopK ?? sampling.TopK;
            sampling.FrequencyPenalty = options.FrequencyPenalty ?? sampling.FrequencyPenalty;
            sampling.PresencePenalty = options.PresencePenalty ?? sampling.PresencePenalty;
            sampling.MinP = ReadNumber(options.AdditionalProperties, MinPKey) ?? sampling.MinP;
            sampling.RepetitionPenalty = ReadNumber(options.AdditionalProperties, RepetitionPenaltyKey) ?? sampling.RepetitionPenalty;
            if (LogprobContent.GetRequestedTopLogprobs(options) is int topLogprobs)
            {
                sampling.Logprobs = true;
                sampling.TopLogprobs = Math.Min(topLogprobs, SamplingParams.MaxTopLogprobs);
            }

            if (options.AdditionalProperties?.TryGetValue(LogitBiasKey, out object? bias) == true && bias is IEnumerable<KeyValuePair<int, double>> biases)
            {
                foreach (var (token, value) in biases)
                {
                    sampling.LogitBias[token] = (float)value;
                }
            }
        }

        sampling.Validate();
        return sampling;
    }

    /// <summary>Reads a number that may arrive boxed as any numeric type, as a numeric string, or as a JSON number.</summary>
    private static float? ReadNumber(AdditionalPropertiesDictionary? properties, string key)
    {
        if (properties is null || !properties.TryGetValue(key, out object? value) || value is null)
        {
            return null;
        }

        return value switch
        {
            float f => f,
            double d => (float)d,
            JsonElement { ValueKind: JsonValueKind.Null } => null,
            JsonElement { ValueKind: JsonValueKind.Number } json => (float)json.GetDouble(),
            JsonElement { ValueKind: JsonValueKind.String } json when TryParse(json.GetString(), out float parsed) => parsed,
            string text when TryParse(text, out float parsed) => parsed,
            IConvertible convertible and not string and not bool and not char => convertible.ToSingle(CultureInfo.InvariantCulture),
            _ => throw new ArgumentException($"The option '{key}' must be a number.", nameof(properties)),
        };

        static bool TryParse(string? text, out float parsed) =>
            float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out parsed);
    }
}
