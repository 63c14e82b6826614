namespace OpenAiStreaming.Sampling.Benchmarks;

/// <summary>Synthetic logits shaped like a language model's step (see <see cref="SamplerBenchmark"/>).</summary>
internal static class LogitsData
{
    public static float[] Create(int vocabulary, int seed)
    {
        var random = new Random(seed);
        float[] logits = new float[vocabulary];
        for (int i = 0; i < logits.Length; i++)
        {
            // Box-Muller, standard deviation 2.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            logits[i] = (float)(2 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        for (int j = 0; j < 32; j++)
        {
            logits[random.Next(vocabulary)] = 16f - (0.5f * j);
        }

        return logits;
    }
}
