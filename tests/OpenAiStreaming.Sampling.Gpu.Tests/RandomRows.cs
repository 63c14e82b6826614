using OpenAiStreaming.Sampling;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>Random rows of logits with random parameters and histories, shaped to reach every path of the kernel.</summary>
internal static class RandomRows
{
    public sealed record Case(float[] Logits, SamplingParams Parameters, ulong Seed, int[] Prompt, int[] Output);

    public static Case Next(Random random, int vocab)
    {
        float[] logits = new float[vocab];
        int shape = random.Next(6);
        double scale = random.NextDouble() * 4 + 0.1;
        for (int i = 0; i < vocab; i++)
        {
            double g = Gaussian(random) * scale;
            logits[i] = shape switch
            {
                0 => (float)Math.Round(g),                     // many ties
                1 => (float)Math.Round(g * 4) / 4,             // ties, quarter steps
                _ => (float)g,
            };
        }

        // A language model's head: a few plausible tokens above the bulk.
        int heads = random.Next(0, 40);
        for (int j = 0; j < heads; j++)
        {
            logits[random.Next(vocab)] = (float)(8 + random.NextDouble() * 8);
        }

        if (random.Next(10) == 0)
        {
            int specials = random.Next(1, 5);
            for (int j = 0; j < specials; j++)
            {
                logits[random.Next(vocab)] = random.Next(4) switch
                {
                    0 => float.NaN,
                    1 => float.NegativeInfinity,
                    2 => float.PositiveInfinity,
                    _ => -0f,
                };
            }
        }

        if (random.Next(50) == 0)
        {
            Array.Fill(logits, random.Next(2) == 0 ? float.NegativeInfinity : float.NaN);
        }

        var p = new SamplingParams
        {
            Temperature = random.Next(8) switch
            {
                0 => 0f,
                1 => 1e-6f,
                2 => 1f,
                _ => (float)(random.NextDouble() * 1.9 + 0.05),
            },
            TopK = random.Next(6) switch
            {
                0 => 1,
                1 => random.Next(2, 60),
                2 => random.Next(60, Math.Max(61, vocab / 2)),
                3 => random.Next(4097, 6000),
                _ => 0,
            },
            TopP = random.Next(3) == 0 ? 1f : (float)(random.NextDouble() * 0.99 + 0.01),
            MinP = random.Next(3) == 0 ? (float)(random.NextDouble() * 0.3) : 0f,
            Logprobs = random.Next(3) == 0,
            TopLogprobs = random.Next(4) == 0 ? random.Next(0, 21) : 0,
        };

        if (random.Next(3) == 0)
        {
            p.RepetitionPenalty = (float)(random.NextDouble() + 0.5);
            p.FrequencyPenalty = (float)(random.NextDouble() * 4 - 2);
            p.PresencePenalty = (float)(random.NextDouble() * 4 - 2);
        }

        int biases = random.Next(4) == 0 ? random.Next(1, 10) : 0;
        for (int j = 0; j < biases; j++)
        {
            p.LogitBias[random.Next(vocab + 10)] = random.Next(10) switch
            {
                0 => float.NegativeInfinity,
                1 => float.PositiveInfinity,
                _ => (float)(random.NextDouble() * 200 - 100),
            };
        }

        int[] prompt = Enumerable.Range(0, random.Next(0, 30)).Select(_ => random.Next(vocab + 5)).ToArray();
        int[] output = Enumerable.Range(0, random.Next(0, 30)).Select(_ => random.Next(vocab)).ToArray();
        return new Case(logits, p, (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40), prompt, output);
    }

    /// <summary>A sequence at the case's step, with its history recorded.</summary>
    public static SamplingSequence Sequence(Case c)
    {
        c.Parameters.Seed = c.Seed;
        var sequence = new SamplingSequence(c.Parameters);
        sequence.AddPromptTokens(c.Prompt);
        foreach (int token in c.Output)
        {
            sequence.Accept(token);
        }

        return sequence;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
