using System.Text;
using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Telegram.Tests.Receiving;

/// <summary>Real-shaped update JSON read update by update through Telegram.Bot's types.</summary>
public sealed class RawUpdateTests
{
    private static readonly FakeChat Group = new(-1001234567890, "Dev chat");
    private static readonly FakeUser Ann = new(42, "Ann", "Lee", "ann", "ru");

    private static UpdateBatch Batch(params string[] objects)
    {
        var id = 1;
        var items = objects.Select(o => "{\"update_id\":" + id++ + "," + o.TrimStart()[1..]);
        return UpdateBatch.FromArray(Encoding.UTF8.GetBytes("[" + string.Join(",", items) + "]"));
    }

    private static IReadOnlyList<ReadUpdate> Read(params string[] objects) => [.. Batch(objects).Updates.Select(u => u.Read())];

    [Fact]
    public void MessageFieldsAreRead()
    {
        var json = UpdateFactory.Message(Group with { IsForum = true }, 7, Ann, UpdateFactory.BaseDate, "hi there", replyTo: 5,
            replyToFrom: new FakeUser(43, "Bob"), threadId: 99, forwarded: true);

        var m = Read(json).Single().Update!.Message!;

        Assert.Equal(7, m.MessageId);
        Assert.Equal("hi there", m.Text);
        Assert.Equal(42, m.From!.Id);
        Assert.Equal("ru", m.From.LanguageCode);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(UpdateFactory.BaseDate).UtcDateTime, m.Date);
        Assert.Equal(5, m.ReplyToMessage!.MessageId);
        Assert.Equal(43, m.ReplyToMessage.From!.Id);
        Assert.Equal(99, m.MessageThreadId);
        Assert.True(m.IsTopicMessage);
        Assert.IsType<MessageOriginHiddenUser>(m.ForwardOrigin);
        Assert.Equal(ChatType.Supergroup, m.Chat.Type);
        Assert.True(m.Chat.IsForum);
    }

    [Fact]
    public void ServiceMessagesAreRead()
    {
        var updates = Read(
            UpdateFactory.Joined(Group, 10, Ann, UpdateFactory.BaseDate, new FakeUser(50, "New"), new FakeUser(51, "Newer")),
            UpdateFactory.Left(Group, 11, Ann, UpdateFactory.BaseDate, new FakeUser(50, "New")),
            UpdateFactory.TitleChanged(Group, 12, Ann, UpdateFactory.BaseDate, "Renamed"),
            UpdateFactory.Service(Group, 13, Ann, UpdateFactory.BaseDate, "migrate_to_chat_id", System.Text.Json.Nodes.JsonValue.Create(-100999L)!));

        Assert.Equal(2, updates[0].Update!.Message!.NewChatMembers!.Length);
        Assert.Equal(50, updates[1].Update!.Message!.LeftChatMember!.Id);
        Assert.Equal("Renamed", updates[2].Update!.Message!.NewChatTitle);
        Assert.Equal(-100999L, updates[3].Update!.Message!.MigrateToChatId);
    }

    [Fact]
    public void OtherUpdateKindsAreRead()
    {
        var updates = Read(
            UpdateFactory.Edited(Group, 7, Ann, UpdateFactory.BaseDate, UpdateFactory.BaseDate + 60, "fixed"),
            UpdateFactory.Message(Group with { Type = "channel" }, 8, null, UpdateFactory.BaseDate, "post", field: "channel_post"),
            UpdateFactory.MyChatMember(Group, Ann, UpdateFactory.BaseDate, "left", "member"),
            """{"callback_query":{"id":"cb1","from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat_instance":"x","data":"page:2"}}""",
            """{"message_reaction":{"chat":{"id":-100,"type":"supergroup","title":"g"},"message_id":5,"user":{"id":42,"is_bot":false,"first_name":"Ann"},"date":1767225600,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}""");

        Assert.Equal(
            [UpdateType.EditedMessage, UpdateType.ChannelPost, UpdateType.MyChatMember, UpdateType.CallbackQuery, UpdateType.MessageReaction],
            updates.Select(u => u.Update!.Type));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(UpdateFactory.BaseDate + 60).UtcDateTime, updates[0].Update!.EditedMessage!.EditDate);
        Assert.True(updates[2].Update!.MyChatMember!.NewChatMember.IsInChat);
        Assert.False(updates[2].Update!.MyChatMember!.OldChatMember.IsInChat);
        Assert.Equal("👍", Assert.IsType<ReactionTypeEmoji>(updates[4].Update!.MessageReaction!.NewReaction.Single()).Emoji);
    }

    [Fact]
    public void FieldsTheLibraryDoesNotKnowAreDropped()
    {
        var read = Read("""{"message":{"message_id":1,"date":1767225600,"chat":{"id":-5,"type":"group","title":"g","brand_new":1},"text":"x","future_field":{"a":[1,2]}}}""").Single();

        Assert.True(read.IsReadable);
        Assert.Equal("x", read.Update!.Message!.Text);
        Assert.Equal(-5, read.Update.Message.Chat.Id);
    }

    [Fact]
    public void AnUpdateKindTheLibraryDoesNotKnowReadsAsUnknownAndKeepsItsBytes()
    {
        var batch = Batch("""{"future_kind_of_update":{"id":"b1","user":{"id":1,"is_bot":false,"first_name":"A"}}}""");

        var read = batch.Updates.Single().Read();

        Assert.Equal(UpdateType.Unknown, read.Update!.Type);
        Assert.Contains("future_kind_of_update", Encoding.UTF8.GetString(batch.Updates.Single().Json.Span));
    }

    [Fact]
    public void AnObjectKindTheLibraryDoesNotKnowMakesOnlyThatUpdateUnreadable()
    {
        // A forward origin of a type the Bot API may add one day: the library's polymorphic reader throws for the whole
        // update (TelegramBots/Telegram.Bot#1487); its neighbours in the batch must not suffer.
        var updates = Read(
            UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate, "before"),
            """{"message":{"message_id":2,"date":1767225600,"chat":{"id":-5,"type":"group","title":"g"},"text":"x","forward_origin":{"type":"story_of_the_future","date":1767225000}}}""",
            """{"message":{"message_id":"not a number","date":1767225600,"chat":{"id":-5,"type":"group"}}}""",
            UpdateFactory.Message(Group, 4, Ann, UpdateFactory.BaseDate, "after"));

        Assert.Equal("before", updates[0].Update!.Message!.Text);
        Assert.False(updates[1].IsReadable);
        Assert.Contains("story_of_the_future", updates[1].Error);
        Assert.Equal(2, updates[1].UpdateId);
        Assert.False(updates[2].IsReadable);
        Assert.Equal(3, updates[2].UpdateId);
        Assert.Equal("after", updates[3].Update!.Message!.Text);
    }

    [Fact]
    public void ABatchIsCutIntoUpdatesWithTheirIdsAndBytes()
    {
        var json = """[{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"[{}]"}}, 42, {"no_id":true}, {"update_id":"8"}]"""u8.ToArray();

        var batch = UpdateBatch.FromArray(json);

        Assert.Equal([7L, 0, 0, 0], batch.Updates.Select(u => u.UpdateId));
        Assert.StartsWith("{\"update_id\":7", Encoding.UTF8.GetString(batch.Updates[0].Json.Span));
        Assert.EndsWith("\"[{}]\"}}", Encoding.UTF8.GetString(batch.Updates[0].Json.Span));
        Assert.True(batch.Json.Span.SequenceEqual(json));
    }

    [Fact]
    public void OneWebhookBodyBecomesABatchOfOneAndJoinedBatchesStayReadable()
    {
        var one = UpdateBatch.FromObject(Encoding.UTF8.GetBytes("{\"update_id\":5," + UpdateFactory.Message(Group, 1, Ann, UpdateFactory.BaseDate)[1..]));
        var other = UpdateBatch.FromObject(Encoding.UTF8.GetBytes("{\"update_id\":9," + UpdateFactory.Message(Group, 2, Ann, UpdateFactory.BaseDate)[1..]));

        var joined = UpdateBatch.Join([.. one.Updates, .. other.Updates]);
        var again = UpdateBatch.FromArray(joined.Json);

        Assert.Equal([5L, 9L], again.Updates.Select(u => u.UpdateId));
        Assert.Equal([1, 2], again.Updates.Select(u => u.Read().Update!.Message!.MessageId));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => UpdateBatch.FromObject("not json"u8));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => UpdateBatch.FromObject("[1,2]"u8));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => UpdateBatch.FromObject("{\"update_id\":1}{}"u8));
    }
}
