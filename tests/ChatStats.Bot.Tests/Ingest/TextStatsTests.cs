using ChatStats.Bot.Ingest;

namespace ChatStats.Bot.Tests.Ingest;

public sealed class TextStatsTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("hello", 1)]
    [InlineData("  hello   world  ", 2)]
    [InlineData("Привет, мир!", 2)]
    [InlineData("— - ... !!!", 0)]
    [InlineData("line\nbreak\ttab", 3)]
    [InlineData("我爱你 中国", 2)]
    [InlineData("🦄 🎉", 2)]
    [InlineData("e-mail don't 3.14", 3)]
    public void WordsAreTokensWithALetterOrDigit(string text, int words) => Assert.Equal(words, TextStats.CountWords(text));

    [Theory]
    [InlineData("abc", 3)]
    [InlineData("🦄", 1)]
    [InlineData("Ёж", 2)]
    public void CharactersAreCodePoints(string text, int chars) => Assert.Equal(chars, TextStats.CountChars(text));

    [Fact]
    public void CleanRemovesNulAndLoneSurrogatesButKeepsPairs()
    {
        Assert.Equal("ab", TextStats.Clean("a\0b"));
        Assert.Equal("x\uFFFDy", TextStats.Clean("x\uD800y"));
        Assert.Equal("\uFFFDz", TextStats.Clean("\uDC00z"));
        Assert.Equal("🦄 ok", TextStats.Clean("🦄 ok"));
        Assert.Null(TextStats.Clean(null));
    }

    [Fact]
    public void CleanReturnsTheSameInstanceWhenNothingChanges()
    {
        var text = "nothing to clean, 🦄";
        Assert.Same(text, TextStats.Clean(text));
    }
}
