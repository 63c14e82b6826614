using System.Diagnostics;
using ChatServer.Model;

namespace ChatServer.Tests;

public sealed class CharLanguageModelTests
{
    internal const string Corpus =
        """
        The pump moves tokens from the model to the network. The pump never waits on the network.
        When the client is slow, the pump merges pending deltas. When the client leaves, the pump cancels the model.
        The sampler turns logits into a token. The sampler honours temperature, top_k, top_p and min_p.
        Server-Sent Events carry each token to the client as soon as the model produces it.
        """;

    private static readonly CharLanguageModel Model = CharLanguageModel.Train(string.Concat(Enumerable.Repeat(Corpus, 4)));

    [Theory]
    [InlineData("")]
    [InlineData("The pu")]
    [InlineData("zzzzzzzz")]
    [InlineData("The sampler turns logits into a tok")]
    public void ComputeLogits_AnyContext_FiniteAndSoftmaxSumsToOne(string context)
    {
        float[] logits = Logits(Model, context);

        Assert.All(logits, value => Assert.True(float.IsFinite(value)));
        double sum = logits.Sum(value => Math.Exp(value));
        Assert.Equal(1.0, sum, 4);
    }

    [Fact]
    public void ComputeLogits_TrainingText_CrossEntropyFarBelowUniform()
    {
        double crossEntropy = CrossEntropy(Model, Corpus);

        double uniform = Math.Log(Model.VocabularySize);
        Assert.True(crossEntropy < uniform / 4, $"cross-entropy {crossEntropy:F3} nats, uniform {uniform:F3}");
    }

    [Fact]
    public void ComputeLogits_FrequentContinuation_IsMostLikely()
    {
        float[] logits = Logits(Model, "the pum");

        int best = Array.IndexOf(logits, logits.Max());
        Assert.Equal('p', Model.Decode(best));
    }

    [Fact]
    public void ComputeLogits_UnseenText_StillBetterThanUniformOnRelatedText()
    {
        double crossEntropy = CrossEntropy(Model, "The model sends tokens to the client.");

        Assert.True(crossEntropy < Math.Log(Model.VocabularySize));
    }

    [Fact]
    public void ComputeLogits_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => Model.ComputeLogits([], new float[Model.VocabularySize + 1]));
    }

    [Fact]
    public void Train_EmptyText_UniformOverPrintableAscii()
    {
        CharLanguageModel model = CharLanguageModel.Train(string.Empty);

        float[] logits = Logits(model, "hello");
        Assert.Equal(96, model.VocabularySize);
        Assert.All(logits, value => Assert.Equal(-Math.Log(96), value, 4));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("\r\n\r\n")]
    public void Train_TinyText_LogitsFiniteAndNormalized(string text)
    {
        CharLanguageModel model = CharLanguageModel.Train(text);

        float[] logits = Logits(model, text + "xyz");
        Assert.All(logits, value => Assert.True(float.IsFinite(value)));
        Assert.Equal(1.0, logits.Sum(value => Math.Exp(value)), 4);
    }

    [Fact]
    public void Encode_UnseenCharacter_FallsBackToSpace()
    {
        Assert.Equal(' ', Model.Decode(Model.Encode('\u4E2D')));
        Assert.Equal('é', CharLanguageModel.Train("café").Decode(CharLanguageModel.Train("café").Encode('é')));
    }

    [Fact]
    public void Encode_EveryVocabularyCharacter_RoundTrips()
    {
        for (int token = 0; token < Model.VocabularySize; token++)
        {
            Assert.Equal(token, Model.Encode(Model.Decode(token)));
        }
    }

    [Fact]
    public void Train_FewHundredKilobytes_LearnsAllOfIt()
    {
        // How long this takes is the sample's start-up time, which eng/aot-check.sh and the benchmark smoke measure; a
        // stopwatch here only measured how busy the test machine was.
        string text = string.Concat(Enumerable.Repeat(Corpus + TrainingText.Load(), 300_000 / (Corpus.Length + TrainingText.Load().Length) + 1));

        CharLanguageModel model = CharLanguageModel.Train(text);

        Assert.True(model.TrainingLength >= 300_000);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(CharLanguageModel.MaxOrder)]
    public void Train_EveryOrder_LogitsNormalizedAndHigherOrdersFitBetter(int order)
    {
        CharLanguageModel model = CharLanguageModel.Train(Corpus, order);
        CharLanguageModel lower = CharLanguageModel.Train(Corpus, Math.Max(1, order - 1));

        float[] logits = Logits(model, "The sampler turns logits into a tok");
        Assert.Equal(1.0, logits.Sum(value => Math.Exp(value)), 4);
        Assert.True(CrossEntropy(model, Corpus) <= CrossEntropy(lower, Corpus) + 1e-6);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(CharLanguageModel.MaxOrder + 1)]
    public void Train_OrderOutOfRange_Throws(int order)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CharLanguageModel.Train(Corpus, order));
    }

    [Fact]
    public void Train_MoreThan255Characters_KeepsTheMostFrequent()
    {
        string rare = new(Enumerable.Range(0x4E00, 300).Select(code => (char)code).ToArray());
        string text = rare + new string('\u00E9', 10) + "\uD83D\uDE00";

        CharLanguageModel model = CharLanguageModel.Train(text);

        Assert.Equal(255, model.VocabularySize);
        Assert.Equal('\u00E9', model.Decode(model.Encode('\u00E9')));
        Assert.Equal(' ', model.Decode(model.Encode('\uD83D')));
        Assert.Equal(1.0, Logits(model, rare).Sum(value => Math.Exp(value)), 4);
    }

    [Fact]
    public void ComputeLogits_TokenOutsideVocabulary_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Model.ComputeLogits([Model.VocabularySize], new float[Model.VocabularySize]));
    }

    [Fact]
    public void ComputeLogits_LongContext_AllocatesNothing()
    {
        var context = new int[1000];
        var logits = new float[Model.VocabularySize];
        Model.ComputeLogits(context, logits);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Model.ComputeLogits(context.AsSpan(0, i), logits);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    internal static float[] Logits(CharLanguageModel model, string context)
    {
        var tokens = new int[context.Length];
        model.Encode(context, tokens);
        var logits = new float[model.VocabularySize];
        model.ComputeLogits(tokens, logits);
        return logits;
    }

    private static double CrossEntropy(CharLanguageModel model, string text)
    {
        var tokens = new int[text.Length];
        model.Encode(text, tokens);
        var logits = new float[model.VocabularySize];
        double total = 0;
        for (int i = 0; i < tokens.Length; i++)
        {
            model.ComputeLogits(tokens.AsSpan(0, i), logits);
            total -= logits[tokens[i]];
        }

        return total / tokens.Length;
    }
}
