using ChatStats.Bot.Commands;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Tests.Commands;

public sealed class CommandParserTests
{
    [Theory]
    [InlineData("/stats", "stats", "")]
    [InlineData("/stats 30d", "stats", "30d")]
    [InlineData("/Stats@ChatStatsTestBot  7d  ", "stats", "7d")]
    [InlineData("/top\n10", "top", "10")]
    public void CommandsForUsAreParsed(string text, string name, string args)
    {
        var parsed = CommandParser.Parse(text, "ChatStatsTestBot");

        Assert.Equal(new ParsedCommand(name, args), parsed);
    }

    [Theory]
    [InlineData("/stats@OtherBot")]
    [InlineData("hello /stats")]
    [InlineData("/")]
    [InlineData("//stats")]
    [InlineData("/stats@")]
    [InlineData(null)]
    public void EverythingElseIsNotOurCommand(string? text) => Assert.Null(CommandParser.Parse(text, "ChatStatsTestBot"));

    [Fact]
    public void AMentionCannotBeCheckedBeforeWeKnowOurName() => Assert.Null(CommandParser.Parse("/stats@ChatStatsTestBot", null));

    [Theory]
    [InlineData("<b>", "&lt;b&gt;")]
    [InlineData("Tom & Jerry", "Tom &amp; Jerry")]
    [InlineData("_x_", "_x_")]
    [InlineData("\"q\"", "&quot;q&quot;")]
    // What a member's text must not do to the bot's line: turn it right to left, ring a bell, break Telegram's UTF-8.
    [InlineData("\u202eevil\u202c", "evil")]
    [InlineData("a\u2066b\u2069c", "abc")]
    [InlineData("bell\u0007\u001b[31m", "bell[31m")]
    [InlineData("line\nnext\ttab\r", "line\nnext tab")]
    [InlineData("\u200fשלום\u200e 🧑‍🤝‍🧑", "\u200fשלום\u200e 🧑‍🤝‍🧑")]
    public void HtmlEscapingCoversWhatTelegramParses(string raw, string escaped) => Assert.Equal(escaped, Html.Escape(raw));

    [Fact]
    public void ALoneSurrogateWhichTelegramRefusesAsNotUtf8IsReplaced() =>
        // Not an InlineData: attribute strings are stored as UTF-8, where a lone surrogate cannot survive.
        Assert.Equal("lone \ufffd half \ufffd", Html.Escape("lone \ud800 half \udfff"));

    [Fact]
    public void AQuotedArgumentIsShortenedOnWholeCharacters()
    {
        Assert.Equal("short &lt;b&gt;", Html.Quote("short <b>"));
        Assert.Equal(new string('x', 63) + "…", Html.Quote(new string('x', 63) + "🦄🦄"));
        Assert.Equal(string.Concat(Enumerable.Repeat("🦄", 32)) + "…", Html.Quote(string.Concat(Enumerable.Repeat("🦄", 2_000))));
    }
}
