using System.Text;
using ChatStats.Testing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Fuzz;

/// <summary>
/// Every command with arguments a member could type to break it: controls, direction overrides, invisible characters,
/// markup of both parse modes, 4,096 characters, every period form damaged; and every /settings key with values it
/// must refuse. Each question gets an answer Telegram accepts (its HTML, its length, UTF-8), in words, without
/// internals, controls or direction overrides leaking into the bot's own text; a refused setting changes nothing.
/// </summary>
public sealed class CommandFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Ten questions per chat at most: a group's answers are paced at Telegram's 20 a minute.
    private static readonly int Chats = 30 * Fuzz.Scale;
    private static readonly string[] Commands =
        ["start", "help", "stats", "top", "me", "user", "activity", "history", "words", "types", "replies", "inactive", "titles", "report", "summary", "optout", "optin", "forgetme", "settings"];

    private static readonly string[] Periods = ["today", "yesterday", "7d", "30d", "week", "month", "year", "all", "2026-03", "2026-03-01..2026-04-15", "10", "by words", "@Ann"];

    private readonly PostgresDatabase _db = new();
    private readonly LogLines _logs = new();
    private FakeBotApi _api = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static FakeChat Chat(int i) => new(-100_600_000 - i, i % 3 == 0 ? "Fuzz <chat> & co" : $"Fuzz chat {i}");

    private async Task<BotHarness> StartAsync(FakeOpenAi? ai = null)
    {
        // The per-member limits would rightly refuse a member asking this much; here every question must be answered.
        var settings = new Dictionary<string, string?> { ["Limits:Enabled"] = "false", ["Limits:DailyHeavyQuota"] = "0" };
        if (ai is not null)
        {
            (settings["Ai:Endpoint"], settings["Ai:ApiKey"], settings["Ai:Model"], settings["Ai:MaxRetries"]) = (ai.BaseUrl, "sk-fuzz", FakeOpenAi.Model, "0");
        }
        var bot = await BotHarness.StartAsync(_api, _db.ConnectionString, settings: settings, services: s => s.AddLogging(b => b.AddProvider(_logs)));
        // Each chat has history: members with awkward names, words, a day of activity.
        var seed = new List<string>();
        for (var chat = 0; chat < Chats; chat++)
        {
            for (var m = 1; m <= 6; m++)
            {
                var name = UpdateFactory.HostileNames[(chat + m) % UpdateFactory.HostileNames.Length].Replace("\u0000", "", StringComparison.Ordinal);
                seed.Add(UpdateFactory.Message(Chat(chat), m, new FakeUser(90_000 + m, name), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3_600 * m, $"seeded words {name} number {m}"));
            }
        }
        _api.AddUpdates(seed);
        await bot.SettledAsync();
        return bot;
    }

    [Fact]
    public async Task EveryCommandWithHostileArgumentsIsAnsweredInWordsTelegramAccepts()
    {
        await using var bot = await StartAsync();
        var asked = new List<(FakeChat Chat, int MessageId, string Text)>();
        var nextMessage = 100;
        await Fuzz.RunAsync(output, "commands", 300, c =>
        {
            var command = c.Pick(Commands);
            var text = $"/{command}{(c.Chance(0.2) ? "@" + FakeBotApi.BotUsername : "")}";
            for (var n = c.Random.Next(0, 3); n > 0; n--)
            {
                text += " " + HostileArgument(c);
            }
            var chat = Chat(c.Number % Chats);
            var messageId = nextMessage++;
            c.Input = text;
            asked.Add((chat, messageId, text));
            // A member of its own per case, so that nobody's question supersedes another's.
            _api.AddUpdate(UpdateFactory.Message(chat, messageId, new FakeUser(200_000 + c.Number, c.Pick(UpdateFactory.HostileNames).Replace("\u0000", "", StringComparison.Ordinal)),
                DateTimeOffset.UtcNow.ToUnixTimeSeconds(), text));
            return Task.CompletedTask;
        });
        await bot.SettledAsync();

        AssertRepliesAreClean();
        // Several members asking the same chat-wide question in one chat get one answer between them.
        var unanswered = asked.GroupBy(a => (a.Chat.Id, QuestionOf(a.Text)))
            .Where(g => !g.Any(a => _api.Sent.Any(s => s.ChatId == a.Chat.Id && s.ReplyTo == a.MessageId)))
            .Select(g => g.First().Text).ToList();
        Assert.True(unanswered.Count == 0, $"{unanswered.Count} questions got no answer, e.g. {string.Join(" | ", unanswered.Take(5).Select(t => Fuzz.Shorten(t, 200)))}");
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
        output.WriteLine($"{asked.Count} questions, {_api.Sent.Count} sends");
    }

    [Fact]
    public async Task WhateverTheModelAnswersASummaryReachesTheChatInTextTelegramAccepts()
    {
        // A model's answer is input too: it can echo what members wrote, or be broken on its own.
        await using var ai = await FakeOpenAi.StartAsync();
        await using var bot = await StartAsync(ai);
        var answers = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var asked = new List<(FakeChat Chat, int MessageId, string Answer)>();
        var nextMessage = 100;
        // Each call takes the next answer: which summary gets which does not matter, that every one arrives does.
        ai.Answer = _ => answers.TryDequeue(out var next) ? next : "done";
        await Fuzz.RunAsync(output, "summary-ai", 30, c =>
        {
            var answer = c.Random.Next(5) switch
            {
                0 => string.Concat(Enumerable.Repeat(c.Pick(JsonMutator.HostileStrings.Where(h => !h.StartsWith("@@", StringComparison.Ordinal)).ToList()) + " ", c.Random.Next(1, 3_000))),
                1 => "- " + string.Join("\n- ", Enumerable.Range(0, c.Random.Next(1, 200)).Select(_ => c.Pick(JsonMutator.HostileStrings))),
                2 => "<b>unclosed <i>tags</b> &nbsp; &#xD800; <a href=\"javascript:alert(1)\">x</a> @everyone @admin",
                3 => c.Pick(new[] { "", " ", "\u0000", "```json\n{\"summary\": null}\n```" }),
                _ => string.Join(' ', Enumerable.Range(0, c.Random.Next(1, 50)).Select(_ => c.Pick(JsonMutator.HostileStrings))),
            };
            answer = answer.Replace(JsonMutator.InvalidUtf8Marker, "\ufffd", StringComparison.Ordinal).Replace(JsonMutator.LoneSurrogateMarker, "\ud800", StringComparison.Ordinal);
            c.Input = answer;
            // Each case its own chat (the same question twice in one chat is answered once, to both).
            var chat = Chat(c.Number % Chats);
            asked.Add((chat, nextMessage, answer));
            answers.Enqueue(answer);
            _api.AddUpdate(UpdateFactory.Message(chat, nextMessage++, new FakeUser(400_000 + c.Number, "Asker"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), "/summary"));
            return Task.CompletedTask;
        });
        await bot.SettledAsync();
        // A summary is written behind the AI gate, after its handler has returned.
        try
        {
            await Eventually.TrueAsync(() => Task.FromResult(asked.All(a => _api.Sent.Any(s => s.ChatId == a.Chat.Id && s.ReplyTo == a.MessageId))), "every summary");
        }
        catch (TimeoutException)
        {
            // Said below, question by question.
        }

        AssertRepliesAreClean();
        foreach (var (chat, messageId, answer) in asked)
        {
            Assert.True(_api.Sent.Any(s => s.ChatId == chat.Id && s.ReplyTo == messageId), 
                $"no summary for a model answering {Fuzz.Shorten(answer, 200)}; the chat got: {string.Join(" | ", _api.Sent.Where(s => s.ChatId == chat.Id).Select(s => $"{s.ReplyTo}: {Fuzz.Shorten(s.Text, 100)}"))}");
        }
        output.WriteLine($"{asked.Count} summaries, {ai.Requests.Count} model calls");
    }

    [Fact]
    public async Task TheCorpusOfKnownNastyCommandsIsAnswered()
    {
        await using var bot = await StartAsync();
        var admin = new FakeUser(300_001, "Corpus admin");
        var lines = Fuzz.CorpusLines("commands.txt");
        var before = await SettingsAsync();
        var asked = new List<(FakeChat Chat, int MessageId, string Text)>();
        for (var i = 0; i < lines.Length; i++)
        {
            // Spread over the chats, ten at most in each: a group's answers are paced at Telegram's 20 a minute.
            var chat = Chat(i % Chats);
            _api.SetAdministrators(chat.Id, (admin.Id, admin.FirstName, "administrator"));
            asked.Add((chat, 1_000 + i, lines[i]));
            _api.AddUpdate(UpdateFactory.Message(chat, 1_000 + i, admin, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), lines[i]));
        }
        await bot.SettledAsync();

        AssertRepliesAreClean();
        foreach (var (chat, messageId, text) in asked)
        {
            Assert.True(_api.Sent.Any(s => s.ChatId == chat.Id && s.ReplyTo == messageId), $"no answer to {text}");
        }
        Assert.Equal(before, await SettingsAsync());
        output.WriteLine($"fuzz commands corpus: {lines.Length} lines");
    }

    [Fact]
    public async Task EverySettingWithAValueItCannotTakeIsRefusedAndChangesNothing()
    {
        await using var bot = await StartAsync();
        var admin = new FakeUser(300_000, "Admin <a>");
        for (var i = 0; i < Chats; i++)
        {
            _api.SetAdministrators(Chat(i).Id, (admin.Id, admin.FirstName, "administrator"));
        }
        var before = await SettingsAsync();
        var cases = new List<(FakeChat Chat, int MessageId, string Text)>();
        var nextMessage = 100;
        await Fuzz.RunAsync(output, "settings", 200, c =>
        {
            var (key, value) = InvalidSetting(c);
            var text = $"/settings {key} {value}";
            var chat = Chat(c.Number % Chats);
            c.Input = text;
            cases.Add((chat, nextMessage, text));
            _api.AddUpdate(UpdateFactory.Message(chat, nextMessage++, admin, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), text));
            return Task.CompletedTask;
        });
        await bot.SettledAsync();

        AssertRepliesAreClean();
        foreach (var (chat, messageId, text) in cases)
        {
            var reply = _api.Sent.FirstOrDefault(s => s.ChatId == chat.Id && s.ReplyTo == messageId);
            Assert.True(reply is not null, $"no answer to {text}");
            Assert.False(reply.Text.Contains("Saved", StringComparison.OrdinalIgnoreCase), $"{text} was taken: {reply.Text}");
        }
        Assert.Equal(before, await SettingsAsync());
    }

    /// <summary>What makes two questions one (the bot's rule): the command, and its arguments whatever their case and spacing.</summary>
    private static string QuestionOf(string text)
    {
        var words = text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', [words[0].Split('@')[0], .. words.Skip(1)]);
    }

    private Task<string> SettingsAsync() => _db.ScalarAsync<string>(
        "SELECT coalesce(string_agg(concat_ws('|', id, time_zone, language, retention_days, store_text, settings), E'\\n' ORDER BY id), '') FROM chats");

    private void AssertRepliesAreClean()
    {
        Assert.True(_api.Refused.Count == 0, $"{_api.Refused.Count} replies Telegram refused, e.g. {string.Join("\n", _api.Refused.Take(3).Select(r => $"{r.Error}: {Fuzz.Shorten(r.RawText, 300)}"))}");
        Fuzz.AssertNoErrorsLogged(_logs);
        foreach (var sent in _api.Sent)
        {
            Fuzz.AssertNoInternals(sent.Text, "a reply");
            // Whatever a member typed or is called, the bot's own lines keep their direction and carry no control codes: the
            // only bidi controls are the bot's own isolates around a name, each closed on its line.
            Assert.True(IsolatesBalanced(sent.Text), $"a reply has an isolate left open: {Fuzz.Shorten(sent.Text, 300)}");
            var bad = sent.Text.FirstOrDefault(ch => ch is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2067' || (char.IsControl(ch) && ch != '\n'));
            Assert.True(bad == default, $"a reply carries U+{(int)bad:X4}: {Fuzz.Shorten(sent.Text, 300)}");
        }
    }

    /// <summary>Every U+2068 (first strong isolate) closed by a U+2069 on the same line, with none nested or stray.</summary>
    private static bool IsolatesBalanced(string text)
    {
        var open = false;
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '\u2068' when !open:
                    open = true;
                    break;
                case '\u2069' when open:
                    open = false;
                    break;
                case '\u2068' or '\u2069':
                case '\n' when open:
                    return false;
            }
        }
        return !open;
    }

    /// <summary>An argument a member could type: a hostile string, a period damaged, or one far too long.</summary>
    private static string HostileArgument(FuzzCase c)
    {
        switch (c.Random.Next(6))
        {
            case 0:
                return string.Concat(Enumerable.Repeat(c.Pick(new[] { "x", "7d", "<b>", "\u202e", "я" }), c.Random.Next(1_000, 4_090)));
            case 1 or 2:
                return DamagedPeriod(c);
            default:
                var s = c.Pick(JsonMutator.HostileStrings);
                return s.StartsWith("@@", StringComparison.Ordinal) ? "\ud800" : s;
        }
    }

    private static string DamagedPeriod(FuzzCase c)
    {
        var period = new StringBuilder(c.Pick(Periods));
        for (var n = c.Random.Next(1, 3); n > 0; n--)
        {
            var at = c.Random.Next(period.Length + 1);
            switch (c.Random.Next(6))
            {
                case 0 when period.Length > 0:
                    period.Remove(Math.Min(at, period.Length - 1), 1);
                    break;
                case 1:
                    period.Insert(at, c.Pick(new[] { "9", "0", "-", ".", "..", "d", "99999999999", "١", "７", "\u200b", " ", "д" }));
                    break;
                case 2:
                    period.Clear().Append(c.Pick(new[] { "2026-13", "2026-02-30", "2026-04-15..2026-03-01", "0d", "-5d", "99999999999d", "1e9d", "2026-03-01..", "..2026-03-01",
                        "0001-01-01..9999-12-31", "9999-12", "2147483648d", "٧d", "７d", "30д", "today yesterday", "top 0", "top -1", "top 999999999999" }));
                    break;
                default:
                    period.Append(c.Pick(new[] { "d", "..", "-01", " all", "x" }));
                    break;
            }
        }
        return period.ToString();
    }

    /// <summary>A /settings key with a value it must refuse.</summary>
    private static (string Key, string Value) InvalidSetting(FuzzCase c)
    {
        var hostile = c.Pick(JsonMutator.HostileStrings) is { Length: > 0 } h && !h.StartsWith("@@", StringComparison.Ordinal) && !h.Any(char.IsWhiteSpace) ? h : "bogus";
        return c.Random.Next(8) switch
        {
            0 => (c.Pick(new[] { "tz", "timezone" }), c.Pick(new[] { hostile, "../../../../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd", "UTC+99", "Mars/Olympus_Mons", "..", "Europe\\Paris" })),
            1 => (c.Pick(new[] { "lang", "language" }), c.Pick(new[] { hostile, "xx", "en-US-x-evil", "ru_RU", "../en" })),
            2 => ("retention", c.Pick(new[] { hostile, "0", "36501", "0d", "99999999999", "7dd", "７", "1e3", "d" })),
            3 => ("digest", c.Pick(new[] { hostile, "25:00", "24:00", "7:60", "noon", "٠٧:٠٠", "-1:00", "7", "07:00:00" })),
            4 => ("store_text", c.Pick(new[] { hostile, "maybe", "2", "onn" })),
            5 => ("summary", c.Pick(new[] { hostile, "maybe", "enabled!" })),
            6 => ("command", c.Pick(new[] { $"stats {hostile}", $"{hostile} disabled", "settings disabled", "nothing admin", "/stats banana" })),
            _ => (c.Pick(new[] { hostile, "t-z", "retention_days", "store-text", "\u202etz" }), c.Pick(new[] { "UTC", "on", "30" })),
        };
    }
}
