using ChatServer.Model;

namespace ChatServer.Tests;

public sealed class TrainingTextTests
{
    [Fact]
    public void Load_WithOrWithoutEmbeddedDocs_ReturnsTrainableText()
    {
        string text = TrainingText.Load();

        Assert.True(text.Length > 100);
        Assert.True(CharLanguageModel.Train(text).VocabularySize >= 96);
    }

    [Fact]
    public void ResourceNames_Always_CarryThePrefix()
    {
        Assert.All(TrainingText.ResourceNames, name => Assert.StartsWith(TrainingText.ResourcePrefix, name, StringComparison.Ordinal));
    }
}
