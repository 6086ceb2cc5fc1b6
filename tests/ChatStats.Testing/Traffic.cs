using System.Text.Json.Nodes;

namespace ChatStats.Testing;

/// <summary>Generated group-chat traffic and what a correct ingest must make of it.</summary>
public sealed class Traffic
{
    public List<string> Updates { get; } = [];

    /// <summary>Rows the messages table must hold: every non-service group message, counted or not.</summary>
    public int MessageRows { get; set; }

    /// <summary>Messages that are members' activity (not bots, not posts as a channel).</summary>
    public int CountedMessages { get; set; }

    public long CountedWords => _finalWords.Values.Sum();

    public int ServiceEvents { get; set; }

    public int Edits { get; set; }

    public HashSet<long> GroupChats { get; } = [];

    private readonly Dictionary<(long Chat, int Message), int> _finalWords = [];

    /// <summary>
    /// Varied traffic: text and every media kind, replies, forum topics, forwards, edits (some several times), joins,
    /// leaves, title changes, other bots, posts as a channel, channel posts, hostile names, several languages.
    /// </summary>
    public static Traffic Generate(int count, int chats = 20, int users = 300, int seed = 7)
    {
        var random = new Random(seed);
        var traffic = new Traffic();
        var chatList = Enumerable.Range(0, chats)
            .Select(i => new FakeChat(-1_000_000_000_000 - i, $"Chat {i} " + UpdateFactory.HostileNames[i % UpdateFactory.HostileNames.Length], i % 5 == 0 ? "group" : "supergroup", IsForum: i % 7 == 3))
            .ToList();
        var userList = Enumerable.Range(0, users)
            .Select(i => new FakeUser(10_000 + i, i % 9 == 0 ? UpdateFactory.HostileNames[i % UpdateFactory.HostileNames.Length] : $"User{i}",
                i % 3 == 0 ? "Smith" : null, i % 2 == 0 ? $"user_{i}" : null, i % 4 == 0 ? "ru" : "en"))
            .ToList();
        var bot = new FakeUser(99_999, "Other", Username: "other_bot", IsBot: true);
        var channel = new FakeChat(-1_009_999_999_999, "Linked channel", "channel");
        var nextId = chatList.ToDictionary(c => c.Id, _ => 1);
        var texts = new List<(FakeChat Chat, int Id, FakeUser From, long Date, int Edits)>();
        var date = UpdateFactory.BaseDate;
        string[] words = ["hello", "мир", "chat", "stats", "🦄", "ok", "lunch", "today", "проект", "deploy", "why", "yes"];

        string Sentence(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => words[random.Next(words.Length)]));

        for (var i = 0; i < count; i++)
        {
            date += random.Next(0, 40);
            var chat = chatList[random.Next(chatList.Count)];
            var user = userList[random.Next(userList.Count)];
            var roll = random.Next(100);
            if (roll < 8 && texts.Count > 0)
            {
                var index = random.Next(texts.Count);
                var (c, id, from, sent, edits) = texts[index];
                var n = random.Next(1, 12);
                var editDate = sent + 60 * (edits + 1);
                traffic.Updates.Add(UpdateFactory.Edited(c, id, from, sent, editDate, Sentence(n)));
                texts[index] = (c, id, from, sent, edits + 1);
                traffic._finalWords[(c.Id, id)] = n;
                traffic.Edits++;
                continue;
            }
            var messageId = nextId[chat.Id]++;
            traffic.GroupChats.Add(chat.Id);
            if (roll < 11)
            {
                traffic.Updates.Add(UpdateFactory.Joined(chat, messageId, user, date, userList[random.Next(userList.Count)]));
                traffic.ServiceEvents++;
            }
            else if (roll < 12)
            {
                traffic.Updates.Add(UpdateFactory.Left(chat, messageId, user, date, userList[random.Next(userList.Count)]));
                traffic.ServiceEvents++;
            }
            else if (roll < 13)
            {
                var renamed = chat with { Title = chat.Title + "!" };
                chatList[chatList.IndexOf(chat)] = renamed;
                traffic.Updates.Add(UpdateFactory.TitleChanged(renamed, messageId, user, date, renamed.Title));
                traffic.ServiceEvents++;
            }
            else if (roll < 16)
            {
                traffic.Updates.Add(UpdateFactory.Message(chat, messageId, bot, date, "automated " + Sentence(3)));
                traffic.MessageRows++;
            }
            else if (roll < 18)
            {
                traffic.Updates.Add(UpdateFactory.Message(chat, messageId, new FakeUser(136817688, "Channel", Username: "Channel_Bot", IsBot: true), date, Sentence(4), senderChat: channel));
                traffic.MessageRows++;
            }
            else if (roll < 20)
            {
                nextId[chat.Id]--;
                traffic.Updates.Add(UpdateFactory.Message(channel, 1_000_000 + i, null, date, Sentence(5), field: "channel_post"));
            }
            else
            {
                var kind = roll < 75 ? FakeKind.Text : (FakeKind)random.Next(1, Enum.GetValues<FakeKind>().Length);
                var n = random.Next(1, 15);
                var hasText = kind is FakeKind.Text or FakeKind.Photo or FakeKind.Video or FakeKind.Document;
                var text = hasText ? Sentence(n) : null;
                var replyTo = messageId > 1 && random.Next(5) == 0 ? messageId - 1 : (int?)null;
                traffic.Updates.Add(UpdateFactory.Message(chat, messageId, user, date, text, kind, replyTo,
                    replyTo is null ? null : userList[random.Next(userList.Count)],
                    chat.IsForum && random.Next(2) == 0 ? 1 + random.Next(5) : null, forwarded: random.Next(20) == 0));
                traffic.MessageRows++;
                traffic.CountedMessages++;
                traffic._finalWords[(chat.Id, messageId)] = hasText ? n : 0;
                if (kind == FakeKind.Text)
                {
                    texts.Add((chat, messageId, user, date, 0));
                }
            }
        }
        return traffic;
    }

    /// <summary>
    /// Updates that cannot be recorded: a date beyond any timestamp, an id of the wrong type, and a kind of object the
    /// Bot API may add one day (a forward origin Telegram.Bot does not know: its reader fails the whole update).
    /// </summary>
    public static IReadOnlyList<string> Poison(FakeChat chat) =>
    [
        new JsonObject { ["message"] = new JsonObject { ["message_id"] = 1, ["date"] = 99_999_999_999_999, ["chat"] = chat.Json(), ["text"] = "from the far future" } }.ToJsonString(),
        """{"message":{"message_id":"two","date":1767225600,"chat":{"id":-5,"type":"group","title":"x"},"text":"bad id"}}""",
        new JsonObject { ["message"] = new JsonObject { ["message_id"] = 3, ["date"] = 1_767_225_600, ["chat"] = chat.Json(), ["text"] = "forwarded from the future",
            ["forward_origin"] = new JsonObject { ["type"] = "story_of_the_future", ["date"] = 1_767_225_000 } } }.ToJsonString(),
    ];
}
