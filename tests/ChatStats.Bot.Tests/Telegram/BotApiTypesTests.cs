using System.Text.Json.Nodes;
using ChatStats.Bot.Data;
using ChatStats.Bot.Telegram;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Telegram;

public sealed class BotApiTypesTests
{
    private static readonly FakeChat Group = new(-1001234567890, "Dev chat");
    private static readonly FakeUser Ann = new(42, "Ann", "Lee", "ann", "ru");

    private static global::Telegram.Bot.Types.Update Read(string update) => UpdateFactory.Read(JsonNode.Parse("{\"update_id\":1," + update[1..])!);

    [Theory]
    [InlineData(FakeKind.Text, (short)MessageKind.Text)]
    [InlineData(FakeKind.Photo, (short)MessageKind.Photo)]
    [InlineData(FakeKind.Sticker, (short)MessageKind.Sticker)]
    [InlineData(FakeKind.Voice, (short)MessageKind.Voice)]
    [InlineData(FakeKind.Video, (short)MessageKind.Video)]
    [InlineData(FakeKind.VideoNote, (short)MessageKind.VideoNote)]
    [InlineData(FakeKind.Audio, (short)MessageKind.Audio)]
    [InlineData(FakeKind.Document, (short)MessageKind.Document)]
    [InlineData(FakeKind.Animation, (short)MessageKind.Animation)]
    [InlineData(FakeKind.Poll, (short)MessageKind.Poll)]
    [InlineData(FakeKind.Location, (short)MessageKind.Location)]
    [InlineData(FakeKind.Venue, (short)MessageKind.Location)]
    [InlineData(FakeKind.Contact, (short)MessageKind.Contact)]
    [InlineData(FakeKind.Dice, (short)MessageKind.Dice)]
    public void EachMediaKindIsCountedAsWhatItCarries(FakeKind kind, short expected)
    {
        var update = Read(UpdateFactory.Message(Group, 7, Ann, UpdateFactory.BaseDate, "caption", kind));

        Assert.Equal((MessageKind)expected, update.Message!.Kind());
        Assert.False(update.Message!.IsService());
        Assert.Equal(Group.Id, update.ChatId());
    }

    [Fact]
    public void ServiceMessagesAreServiceAndForwardsAndTopicsAreRecognised()
    {
        var joined = Read(UpdateFactory.Joined(Group, 10, Ann, UpdateFactory.BaseDate, new FakeUser(50, "New"))).Message!;
        var topic = Read(UpdateFactory.Message(Group with { IsForum = true }, 11, Ann, UpdateFactory.BaseDate, "hi", threadId: 99, forwarded: true)).Message!;
        var plain = Read(UpdateFactory.Message(Group, 12, Ann, UpdateFactory.BaseDate, "hi")).Message!;

        Assert.True(joined.IsService());
        Assert.True(topic.IsForwarded());
        Assert.Equal(99, topic.TopicId());
        Assert.False(plain.IsForwarded());
        Assert.Null(plain.TopicId());
        Assert.Equal("Ann Lee", plain.From!.FullName());
        Assert.True(plain.Chat.IsGroup());
        Assert.Equal("supergroup", plain.Chat.TypeName());
    }

    [Fact]
    public void TheBotsOwnMembershipChangeNamesItsStatusAsTheBotApiDoes()
    {
        var change = Read(UpdateFactory.MyChatMember(Group, Ann, UpdateFactory.BaseDate, "left", "administrator")).MyChatMember!;

        Assert.Equal(("left", "administrator"), (change.OldChatMember.StatusName(), change.NewChatMember.StatusName()));
        Assert.Equal(Group.Id, Read(UpdateFactory.MyChatMember(Group, Ann, UpdateFactory.BaseDate, "left", "member")).ChatId());
    }
}
