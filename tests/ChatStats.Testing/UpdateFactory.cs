using System.Text.Json.Nodes;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace ChatStats.Testing;

public sealed record FakeUser(long Id, string FirstName, string? LastName = null, string? Username = null, string? LanguageCode = "en", bool IsBot = false)
{
    public JsonObject Json()
    {
        var o = new JsonObject { ["id"] = Id, ["is_bot"] = IsBot, ["first_name"] = FirstName };
        if (LastName is not null) o["last_name"] = LastName;
        if (Username is not null) o["username"] = Username;
        if (LanguageCode is not null) o["language_code"] = LanguageCode;
        return o;
    }
}

public sealed record FakeChat(long Id, string Title, string Type = "supergroup", bool IsForum = false)
{
    public JsonObject Json()
    {
        var o = new JsonObject { ["id"] = Id, ["type"] = Type };
        if (Type != "private") o["title"] = Title; else o["first_name"] = Title;
        if (IsForum) o["is_forum"] = true;
        return o;
    }
}

/// <summary>The media kinds a generated message can carry, and the JSON field Telegram uses for each.</summary>
public enum FakeKind { Text, Photo, Sticker, Voice, Video, VideoNote, Audio, Document, Animation, Poll, Location, Contact, Dice, Venue }

/// <summary>Builds update JSON shaped like Telegram's (without update_id, which <see cref="FakeBotApi"/> assigns).</summary>
public static class UpdateFactory
{
    public const long BaseDate = 1_767_225_600; // 2026-01-01T00:00:00Z

    public static string Message(FakeChat chat, int messageId, FakeUser? from, long date, string? text = "hello", FakeKind kind = FakeKind.Text,
        int? replyTo = null, FakeUser? replyToFrom = null, int? threadId = null, bool forwarded = false, FakeChat? senderChat = null, string field = "message") =>
        Wrap(field, MessageObject(chat, messageId, from, date, text, kind, replyTo, replyToFrom, threadId, forwarded, senderChat));

    public static string Edited(FakeChat chat, int messageId, FakeUser from, long date, long editDate, string text) =>
        Wrap("edited_message", With(MessageObject(chat, messageId, from, date, text, FakeKind.Text, null, null, null, false, null), "edit_date", editDate));

    public static string Service(FakeChat chat, int messageId, FakeUser from, long date, string field, JsonNode value) =>
        Wrap("message", With(Base(chat, messageId, from, date), field, value));

    public static string Joined(FakeChat chat, int messageId, FakeUser by, long date, params FakeUser[] members) =>
        Service(chat, messageId, by, date, "new_chat_members", new JsonArray([.. members.Select(m => (JsonNode)m.Json())]));

    public static string Left(FakeChat chat, int messageId, FakeUser by, long date, FakeUser member) =>
        Service(chat, messageId, by, date, "left_chat_member", member.Json());

    public static string TitleChanged(FakeChat chat, int messageId, FakeUser by, long date, string title) =>
        Service(chat with { Title = title }, messageId, by, date, "new_chat_title", JsonValue.Create(title));

    public static string MyChatMember(FakeChat chat, FakeUser by, long date, string oldStatus, string newStatus) =>
        Wrap("my_chat_member", new JsonObject
        {
            ["chat"] = chat.Json(),
            ["from"] = by.Json(),
            ["date"] = date,
            ["old_chat_member"] = new JsonObject { ["status"] = oldStatus, ["user"] = Bot.Json() },
            ["new_chat_member"] = new JsonObject { ["status"] = newStatus, ["user"] = Bot.Json() },
        });

    public static readonly FakeUser Bot = new(FakeBotApi.BotId, "ChatStats", Username: FakeBotApi.BotUsername, IsBot: true, LanguageCode: null);

    /// <summary>Names that break naive HTML, Markdown or SQL handling; they must arrive exactly as written.</summary>
    public static readonly string[] HostileNames =
    [
        "<b>bold</b>", "Tom & Jerry", "_x_", "*star*", "[link](http://x)", "Robert'); DROP TABLE users;--", "&amp; already",
        "Ελένη", "Дмитрий", "李小龍", "🦄 Unicorn", "\"quoted\"", "back\\slash", "a\u0000nul",
    ];

    public static JsonObject MessageObject(FakeChat chat, int messageId, FakeUser? from, long date, string? text, FakeKind kind,
        int? replyTo, FakeUser? replyToFrom, int? threadId, bool forwarded, FakeChat? senderChat)
    {
        var m = Base(chat, messageId, from, date);
        if (senderChat is not null) m["sender_chat"] = senderChat.Json();
        if (threadId is not null)
        {
            m["message_thread_id"] = threadId;
            m["is_topic_message"] = true;
        }
        if (forwarded)
        {
            m["forward_origin"] = new JsonObject { ["type"] = "hidden_user", ["sender_user_name"] = "Someone", ["date"] = date - 100 };
        }
        if (replyTo is not null)
        {
            m["reply_to_message"] = Base(chat, replyTo.Value, replyToFrom, date - 60).Also(r => r["text"] = "earlier");
        }
        var file = new JsonObject { ["file_id"] = $"F{messageId}", ["file_unique_id"] = $"U{messageId}" };
        switch (kind)
        {
            case FakeKind.Text:
                m["text"] = text;
                if (text is ['/', ..])
                {
                    var len = text.IndexOf(' ') is var sp and > 0 ? sp : text.Length;
                    m["entities"] = new JsonArray(new JsonObject { ["type"] = "bot_command", ["offset"] = 0, ["length"] = len });
                }
                break;
            case FakeKind.Photo:
                m["photo"] = new JsonArray(file.DeepClone().AsObject().Also(p => { p["width"] = 90; p["height"] = 90; }), file.Also(p => { p["width"] = 1280; p["height"] = 720; }));
                if (text is not null) m["caption"] = text;
                break;
            case FakeKind.Sticker:
                m["sticker"] = file.Also(s => { s["type"] = "regular"; s["emoji"] = "😀"; s["width"] = 512; s["height"] = 512; s["is_animated"] = false; s["is_video"] = false; });
                break;
            case FakeKind.Voice:
                m["voice"] = file.Also(v => v["duration"] = 3);
                break;
            case FakeKind.Video:
                m["video"] = file.Also(v => { v["duration"] = 10; v["width"] = 640; v["height"] = 480; });
                if (text is not null) m["caption"] = text;
                break;
            case FakeKind.VideoNote:
                m["video_note"] = file.Also(v => { v["duration"] = 5; v["length"] = 240; });
                break;
            case FakeKind.Audio:
                m["audio"] = file.Also(a => { a["duration"] = 180; a["title"] = "Song"; });
                break;
            case FakeKind.Document:
                m["document"] = file.Also(d => d["file_name"] = "report.pdf");
                if (text is not null) m["caption"] = text;
                break;
            case FakeKind.Animation:
                // Telegram sends an animation with a document field too; it must count as an animation.
                m["animation"] = file.DeepClone().AsObject().Also(a => { a["duration"] = 2; a["width"] = 320; a["height"] = 240; });
                m["document"] = file.Also(d => d["file_name"] = "a.gif.mp4");
                break;
            case FakeKind.Poll:
                m["poll"] = new JsonObject
                {
                    ["id"] = $"P{messageId}", ["question"] = text ?? "Lunch?", ["is_anonymous"] = false, ["type"] = "regular",
                    ["options"] = new JsonArray(new JsonObject { ["text"] = "yes", ["voter_count"] = 0 }, new JsonObject { ["text"] = "no", ["voter_count"] = 0 }),
                };
                break;
            case FakeKind.Location:
                m["location"] = new JsonObject { ["latitude"] = 52.52, ["longitude"] = 13.405 };
                break;
            case FakeKind.Venue:
                m["location"] = new JsonObject { ["latitude"] = 48.85, ["longitude"] = 2.35 };
                m["venue"] = new JsonObject { ["location"] = new JsonObject { ["latitude"] = 48.85, ["longitude"] = 2.35 }, ["title"] = "Café", ["address"] = "Paris" };
                break;
            case FakeKind.Contact:
                m["contact"] = new JsonObject { ["phone_number"] = "+100000", ["first_name"] = "Ann" };
                break;
            case FakeKind.Dice:
                m["dice"] = new JsonObject { ["emoji"] = "🎲", ["value"] = 4 };
                break;
        }
        return m;
    }

    private static JsonObject Base(FakeChat chat, int messageId, FakeUser? from, long date)
    {
        var m = new JsonObject { ["message_id"] = messageId };
        if (from is not null) m["from"] = from.Json();
        m["date"] = date;
        m["chat"] = chat.Json();
        return m;
    }

    private static JsonObject With(JsonObject o, string key, JsonNode? value)
    {
        o[key] = value;
        return o;
    }

    private static T Also<T>(this T node, Action<T> change) where T : JsonNode
    {
        change(node);
        return node;
    }

    private static string Wrap(string field, JsonObject value) => new JsonObject { [field] = value }.ToJsonString();

    /// <summary>An update as the bot reads it: Telegram.Bot's type, through the library's own JSON options.</summary>
    public static Update Read(JsonNode update) => System.Text.Json.JsonSerializer.Deserialize<Update>(update.ToJsonString(), JsonBotAPI.Options)!;
}
