using ChatStats.Bot.Commands;

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
    public void HtmlEscapingCoversWhatTelegramParses(string raw, string escaped) => Assert.Equal(escaped, Html.Escape(raw));
}
