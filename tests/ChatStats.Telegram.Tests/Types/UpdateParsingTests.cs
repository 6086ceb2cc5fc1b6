using System.Text;
using ChatStats.Telegram.Types;
using ChatStats.Testing;

namespace ChatStats.Telegram.Tests.Types;

public sealed class UpdateParsingTests
{
    private static readonly FakeChat Group = new(-1001234567890, "Dev chat");
    private static readonly FakeUser Ann = new(42, "Ann", "Lee", "ann", "ru");

    private static IReadOnlyList<Update> Parse(params string[] objects)
    {
        var id = 1;
        var items = objects.Select(o => "{\"update_id\":" + id++ + "," + o.TrimStart()[1..]);
        return BotApiClient.ParseUpdates(Encoding.UTF8.GetBytes("{\"ok\":true,\"result\":[" + string.Join(",", items) + "]}"));
    }

    [Theory]
    [InlineData(FakeKind.Text, MessageKind.Text)]
    [InlineData(FakeKind.Photo, MessageKind.Photo)]
    [InlineData(FakeKind.Sticker, MessageKind.Sticker)]
    [InlineData(FakeKind.Voice, MessageKind.Voice)]
    [InlineData(FakeKind.Video, MessageKind.Video)]
    [InlineData(FakeKind.VideoNote, MessageKind.VideoNote)]
    [InlineData(FakeKind.Audio, MessageKind.Audio)]
    [InlineData(FakeKind.Document, MessageKind.Document)]
    [InlineData(FakeKind.Animation, MessageKind.Animation)]
    [InlineData(FakeKind.Poll, MessageKind.Poll)]
    [InlineData(FakeKind.Location, MessageKind.Location)]
    [InlineData(FakeKind.Venue, MessageKind.Location)]
    [InlineData(FakeKind.Contact, MessageKind.Contact)]
    [InlineData(FakeKind.Dice, MessageKind.Dice)]
    public void EachMediaKindIsRecognised(FakeKind kind, MessageKind expected)
    {
        var update = Parse(UpdateFactory.Message(Group, 7, Ann, UpdateFactory.BaseDate, "caption", kind)).Single();

        Assert.Equal(UpdateKind.Message, update.Kind);
        Assert.Equal(expected, update.Message!.Kind);
        Assert.Equal(Group.Id, update.ChatId);
    }

    [Fact]
    public void MessageFieldsAreRead()
    {
        var json = UpdateFactory.Message(Group with { IsForum = true }, 7, Ann, UpdateFactory.BaseDate, "hi there", replyTo: 5,
            replyToFrom: new FakeUser(43, "Bob"), threadId: 99, forwarded: true);

        var m = Parse(json).Single().Message!;

        Assert.Equal(7, m.MessageId);
        Assert.Equal("hi there", m.Text);
        Assert.Equal(42, m.From!.Id);
        Assert.Equal("ru", m.From.LanguageCode);
        Assert.Equal("Ann Lee", m.From.FullName);
        Assert.Equal(UpdateFactory.BaseDate, m.Date);
        Assert.Equal(5, m.ReplyToMessage!.MessageId);
        Assert.Equal(43, m.ReplyToMessage.From!.Id);
        Assert.Equal(99, m.MessageThreadId);
        Assert.True(m.IsTopicMessage);
        Assert.True(m.IsForwarded);
        Assert.True(m.Chat.IsGroup);
        Assert.True(m.Chat.IsForum);
    }

    [Fact]
    public void ServiceMessagesAreRecognisedAsService()
    {
        var updates = Parse(
            UpdateFactory.Joined(Group, 10, Ann, UpdateFactory.BaseDate, new FakeUser(50, "New"), new FakeUser(51, "Newer")),
            UpdateFactory.Left(Group, 11, Ann, UpdateFactory.BaseDate, new FakeUser(50, "New")),
            UpdateFactory.TitleChanged(Group, 12, Ann, UpdateFactory.BaseDate, "Renamed"),
            UpdateFactory.Service(Group, 13, Ann, UpdateFactory.BaseDate, "migrate_to_chat_id", System.Text.Json.Nodes.JsonValue.Create(-100999L)!));

        Assert.All(updates, u => Assert.True(u.Message!.IsService));
        Assert.Equal(2, updates[0].Message!.NewChatMembers!.Count);
        Assert.Equal(50, updates[1].Message!.LeftChatMember!.Id);
        Assert.Equal("Renamed", updates[2].Message!.NewChatTitle);
        Assert.Equal(-100999L, updates[3].Message!.MigrateToChatId);
    }

    [Fact]
    public void OtherUpdateKindsAreRecognised()
    {
        var updates = Parse(
            UpdateFactory.Edited(Group, 7, Ann, UpdateFactory.BaseDate, UpdateFactory.BaseDate + 60, "fixed"),
            UpdateFactory.Message(Group with { Type = "channel" }, 8, null, UpdateFactory.BaseDate, "post", field: "channel_post"),
            UpdateFactory.MyChatMember(Group, Ann, UpdateFactory.BaseDate, "left", "member"),
            """{"callback_query":{"id":"cb1","from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat_instance":"x","data":"page:2"}}""",
            """{"message_reaction":{"chat":{"id":-100,"type":"supergroup","title":"g"},"message_id":5,"user":{"id":42,"is_bot":false,"first_name":"Ann"},"date":1767225600,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}""");

        Assert.Equal(
            [UpdateKind.EditedMessage, UpdateKind.ChannelPost, UpdateKind.MyChatMember, UpdateKind.CallbackQuery, UpdateKind.MessageReaction],
            updates.Select(u => u.Kind));
        Assert.Equal(UpdateFactory.BaseDate + 60, updates[0].EditedMessage!.EditDate);
        Assert.True(updates[2].MyChatMember!.NewChatMember.IsPresent);
        Assert.False(updates[2].MyChatMember!.OldChatMember.IsPresent);
        Assert.Equal("👍", updates[4].MessageReaction!.NewReaction.Single().Emoji);
    }

    [Fact]
    public void UnknownFieldsAreIgnored()
    {
        var update = Parse("""{"message":{"message_id":1,"date":1767225600,"chat":{"id":-5,"type":"group","title":"g","brand_new":1},"text":"x","future_field":{"a":[1,2]}}}""").Single();

        Assert.Equal(UpdateKind.Message, update.Kind);
        Assert.Equal("x", update.Message!.Text);
        Assert.Equal(-5, update.Message.Chat.Id);
    }

    [Fact]
    public void AnUnknownUpdateKindIsKeptAsRawJson()
    {
        var update = Parse("""{"business_connection":{"id":"b1","user":{"id":1,"is_bot":false,"first_name":"A"}}}""").Single();

        Assert.Equal(UpdateKind.Unknown, update.Kind);
        Assert.Contains("business_connection", update.RawJson);
        Assert.Null(update.ChatId);
    }

    [Fact]
    public void AMalformedUpdateDoesNotLoseTheRestOfTheBatch()
    {
        var updates = Parse(
            UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate, "before"),
            """{"message":{"message_id":"not a number","date":1767225600,"chat":{"id":-5,"type":"group"}}}""",
            UpdateFactory.Message(Group, 3, Ann, UpdateFactory.BaseDate, "after"));

        Assert.Equal(UpdateKind.Message, updates[0].Kind);
        Assert.Equal(UpdateKind.Malformed, updates[1].Kind);
        Assert.Equal(2, updates[1].UpdateId);
        Assert.Contains("not a number", updates[1].RawJson);
        Assert.NotNull(updates[1].ParseError);
        Assert.Equal("after", updates[2].Message!.Text);
    }

    [Fact]
    public void AnErrorResponseBecomesABotApiException()
    {
        var ex = Assert.Throws<BotApiException>(() => BotApiClient.ParseUpdates(
            """{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"""u8));

        Assert.Equal(429, ex.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        Assert.True(ex.IsTransient);
    }
}
