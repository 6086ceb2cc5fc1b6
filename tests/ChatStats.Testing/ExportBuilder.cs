using System.Text.Json;

namespace ChatStats.Testing;

/// <summary>What an export written by <see cref="ExportBuilder"/> holds, to check an import against.</summary>
public sealed class ExportContents
{
    public long Messages { get; set; }
    public long Counted { get; set; }
    public long Edited { get; set; }
    public long Replies { get; set; }
    public long ServiceEvents { get; set; }
    public long TitleChanges { get; set; }
    public Dictionary<string, long> Kinds { get; } = [];
    public Dictionary<long, string> Users { get; } = [];
    public long Words { get; set; }
}

/// <summary>
/// Writes a Telegram Desktop export the way Telegram Desktop does (result.json, JSON format): one supergroup with
/// <c>messages</c> of every kind, text as a string and as entity arrays, edits, replies, forwards, channel posts, and
/// service actions; optionally wrapped as a whole-account export with <c>chats.list</c> and a private chat beside it.
/// </summary>
public static class ExportBuilder
{
    public const long ExportChatId = 1_987_654_321;
    public const long BotApiChatId = -(1_000_000_000_000 + ExportChatId);

    public static ExportContents Write(string path, int messages, bool wholeAccount, int users = 500, long startUnix = 1_700_000_000)
    {
        var contents = new ExportContents();
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        if (wholeAccount)
        {
            w.WriteString("about", "Here is the data you requested.");
            w.WriteStartObject("personal_information");
            w.WriteNumber("user_id", 42);
            w.WriteString("first_name", "Exporter");
            w.WriteEndObject();
            w.WriteStartObject("contacts");
            w.WriteString("about", "contacts");
            w.WriteStartArray("list");
            w.WriteStartObject();
            w.WriteString("first_name", "Not a chat");
            w.WriteString("name", "decoy");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("chats");
            w.WriteString("about", "This page lists all chats from this export.");
            w.WriteStartArray("list");
            WritePrivateChat(w);
            w.WriteStartObject();
            WriteGroup(w, contents, messages, users, startUnix);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            WriteGroup(w, contents, messages, users, startUnix);
        }
        w.WriteEndObject();
        return contents;
    }

    private static void WritePrivateChat(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("name", "A friend");
        w.WriteString("type", "personal_chat");
        w.WriteNumber("id", 777);
        w.WriteStartArray("messages");
        w.WriteStartObject();
        w.WriteNumber("id", 1);
        w.WriteString("type", "message");
        w.WriteString("date", "2023-11-14T22:13:20");
        w.WriteString("date_unixtime", "1700000000");
        w.WriteString("from", "A friend");
        w.WriteString("from_id", "user777");
        w.WriteString("text", "private, not imported");
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteGroup(Utf8JsonWriter w, ExportContents c, int messages, int users, long startUnix)
    {
        w.WriteString("name", "Imported <group> & co");
        w.WriteString("type", "private_supergroup");
        w.WriteNumber("id", ExportChatId);
        w.WriteStartArray("messages");
        var names = UpdateFactory.HostileNames;
        for (var id = 1; id <= messages; id++)
        {
            var unix = startUnix + id * 37L;
            var userId = 10_000 + (id * 7919 % users);
            var name = id % 50 == 0 ? names[id / 50 % names.Length].Replace("\u0000", "", StringComparison.Ordinal) : $"Member {userId}";
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("date", DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime.ToString("s", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("date_unixtime", unix.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (id % 1000 == 1)
            {
                WriteService(w, c, id, userId, name);
                w.WriteEndObject();
                continue;
            }
            w.WriteString("type", "message");
            c.Messages++;
            var channelPost = id % 997 == 0;
            if (channelPost)
            {
                w.WriteString("from", "Linked channel");
                w.WriteString("from_id", "channel1500000000");
            }
            else
            {
                w.WriteString("from", name);
                w.WriteString("from_id", $"user{userId}");
                c.Users[userId] = name;
                c.Counted++;
            }
            if (id % 13 == 0)
            {
                w.WriteString("edited", "2024-01-01T00:00:00");
                w.WriteString("edited_unixtime", (unix + 60).ToString(System.Globalization.CultureInfo.InvariantCulture));
                c.Edited++;
            }
            if (id % 9 == 0 && id > 1)
            {
                w.WriteNumber("reply_to_message_id", id - 1);
                c.Replies++;
            }
            if (id % 31 == 0)
            {
                w.WriteString("forwarded_from", "Somebody else");
            }
            var kind = (id % 20) switch
            {
                1 => "photo",
                2 => "sticker",
                3 => "voice",
                4 => "video",
                5 => "video_note",
                6 => "audio",
                7 => "document",
                8 => "animation",
                9 => "poll",
                10 => "location",
                11 => "contact",
                _ => "text",
            };
            var counted = !channelPost;
            if (counted)
            {
                c.Kinds[kind] = c.Kinds.GetValueOrDefault(kind) + 1;
            }
            switch (kind)
            {
                case "photo":
                    w.WriteString("photo", $"photos/photo_{id}.jpg");
                    w.WriteNumber("width", 1280);
                    w.WriteNumber("height", 720);
                    WriteText(w, c, id, "look at this", counted);
                    break;
                case "sticker" or "voice" or "video" or "video_note" or "audio" or "animation":
                    w.WriteString("file", $"files/{id}");
                    w.WriteString("media_type", kind switch
                    {
                        "voice" => "voice_message",
                        "video" => "video_file",
                        "video_note" => "video_message",
                        "audio" => "audio_file",
                        _ => kind,
                    });
                    w.WriteString("text", "");
                    break;
                case "document":
                    w.WriteString("file", $"files/report_{id}.pdf");
                    w.WriteString("mime_type", "application/pdf");
                    w.WriteString("text", "");
                    break;
                case "poll":
                    w.WriteStartObject("poll");
                    w.WriteString("question", "Pizza?");
                    w.WriteEndObject();
                    w.WriteString("text", "");
                    break;
                case "location":
                    w.WriteStartObject("location_information");
                    w.WriteNumber("latitude", 52.52);
                    w.WriteNumber("longitude", 13.40);
                    w.WriteEndObject();
                    w.WriteString("text", "");
                    break;
                case "contact":
                    w.WriteStartObject("contact_information");
                    w.WriteString("first_name", "Bob");
                    w.WriteString("phone_number", "+100");
                    w.WriteEndObject();
                    w.WriteString("text", "");
                    break;
                default:
                    WriteText(w, c, id, id % 3 == 0 ? "Привет, мир! Hello world 你好" : "some words here", counted);
                    break;
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteText(Utf8JsonWriter w, ExportContents c, int id, string plain, bool counted)
    {
        if (id % 2 == 0)
        {
            // Rich text: an array of plain strings and entity parts.
            w.WriteStartArray("text");
            w.WriteStringValue(plain + " ");
            w.WriteStartObject();
            w.WriteString("type", "bold");
            w.WriteString("text", "bold part");
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("type", "link");
            w.WriteString("text", " https://example.com");
            w.WriteEndObject();
            w.WriteEndArray();
            if (counted)
            {
                c.Words += plain.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 3;
            }
        }
        else
        {
            w.WriteString("text", plain);
            if (counted)
            {
                c.Words += plain.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            }
        }
    }

    private static void WriteService(Utf8JsonWriter w, ExportContents c, int id, long userId, string name)
    {
        w.WriteString("type", "service");
        c.Users[userId] = name;
        w.WriteString("actor", name);
        w.WriteString("actor_id", $"user{userId}");
        switch (id / 1000 % 4)
        {
            case 0:
                w.WriteString("action", "join_group_by_link");
                w.WriteString("inviter", "Group");
                break;
            case 1:
                w.WriteString("action", "invite_members");
                w.WriteStartArray("members");
                w.WriteStringValue("Invited One");
                w.WriteStringValue("Invited Two");
                w.WriteEndArray();
                c.ServiceEvents++;
                break;
            case 2:
                w.WriteString("action", "edit_group_title");
                w.WriteString("title", $"Title number {id}");
                c.TitleChanges++;
                break;
            default:
                w.WriteString("action", "remove_members");
                w.WriteStartArray("members");
                w.WriteStringValue(name);
                w.WriteEndArray();
                break;
        }
        c.ServiceEvents++;
        w.WriteString("text", "");
    }
}
