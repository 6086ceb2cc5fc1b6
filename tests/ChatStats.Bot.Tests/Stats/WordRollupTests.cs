using ChatStats.Bot.Data;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Stats;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Stats;

/// <summary>
/// The word rollup answers exactly what counting the stored texts answers: whatever was written, edited, deleted or
/// dropped, folded or still pending, for any period in any zone (including half- and three-quarter-hour ones).
/// </summary>
public sealed class WordRollupTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    private static readonly DateTimeOffset Now = new(2026, 6, 10, 14, 20, 0, TimeSpan.Zero);

    private static readonly string[] Vocabulary =
        ["pizza", "pasta", "пицца", "котик", "hello", "world", "don't", "Санкт-Петербург", "the", "и", "https://t.me/x", "@bob", "2026", "café", "ёлка", "елка", "日本語"];

    private static readonly string[] Zones = ["UTC", "Europe/Moscow", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "Pacific/Chatham"];

    private static readonly string[] Periods = ["today", "yesterday", "2d", "3d", "week", "month", "all", "2026-06-08", "2026-06-05..2026-06-09", "2026-06"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task EveryPeriodInEveryZoneEqualsARecountOfTheTexts(int seed)
    {
        var random = new Random(seed);
        var chat = new FakeChat(-100_970 - seed, "Words");
        var members = new[] { new FakeUser(2001, "Ann"), new FakeUser(2002, "Bob"), new FakeUser(2003, "Cleo") };
        var writer = new IngestWriter(db.DataSource);
        var sent = new List<(int Id, FakeUser From, long Date)>();
        var updateId = seed * 100_000;
        string Text() => string.Join(' ', Enumerable.Range(0, random.Next(1, 7)).Select(_ => Vocabulary[random.Next(Vocabulary.Length)]));
        async Task WriteAsync(IEnumerable<string> updates)
        {
            var batch = new IngestBatch();
            foreach (var json in updates)
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
                node["update_id"] = ++updateId;
                UpdateMapper.Map(UpdateFactory.Read(node), batch, storeText: true);
            }
            await writer.WriteAsync(batch, CancellationToken.None);
        }

        // Ten days of messages in batches, with folds in between, then edits, a forgotten member, an opted-out one,
        // and a replayed batch; some of it folded, the rest left pending.
        for (var b = 0; b < 8; b++)
        {
            var updates = new List<string>();
            for (var i = 0; i < 80; i++)
            {
                var date = (Now - TimeSpan.FromMinutes(random.Next(0, 10 * 24 * 60))).ToUnixTimeSeconds();
                // Ann writes most: her days are busy enough to be packed for her, the others' are counted from texts.
                var from = members[random.NextDouble() < 0.7 ? 0 : random.Next(1, members.Length)];
                var id = sent.Count + 1;
                sent.Add((id, from, date));
                updates.Add(UpdateFactory.Message(chat, id, from, date, Text()));
            }
            await WriteAsync(updates);
            if (random.Next(2) == 0)
            {
                await WordRollup.FoldOnceAsync(db.DataSource, CancellationToken.None);
            }
        }
        // Some finished days packed, so the changes below land on packed days as well as on rows.
        await WordRollup.FoldAsync(db.DataSource, CancellationToken.None);
        await WordRollup.PackOnceAsync(db.DataSource, DateOnly.FromDateTime(Now.UtcDateTime), CancellationToken.None);
        await WriteAsync(sent.Take(20).Select(m => UpdateFactory.Message(chat, m.Id, m.From, m.Date, "replayed, never stored again")));
        await WriteAsync(Enumerable.Range(0, 30).Select(_ => sent[random.Next(sent.Count)])
            .Select(m => UpdateFactory.Edited(chat, m.Id, m.From, m.Date, Now.ToUnixTimeSeconds() + random.Next(1, 1000), Text())));
        await WordRollup.FoldOnceAsync(db.DataSource, CancellationToken.None);
        var time = new ManualTimeProvider(Now);
        var privacy = new Privacy(db.DataSource, time);
        await privacy.ForgetAsync(members[1].Id, chat.Id, CancellationToken.None);
        await privacy.SetOptOutAsync(chat.Id, members[2].Id, optedOut: true, CancellationToken.None);

        var queries = new WordQueries(db.DataSource, time);
        // Then, with everything packed, a few of Ann's older messages edited: those days pending, then folded, while
        // her other days stay packed.
        foreach (var stage in new[] { "pending", "folded", "packed", "edited", "edited and folded" })
        {
            if (stage is "folded" or "edited and folded")
            {
                await WordRollup.FoldAsync(db.DataSource, CancellationToken.None);
            }
            else if (stage == "packed")
            {
                await WordRollup.PackAsync(db.DataSource, DateOnly.FromDateTime(Now.UtcDateTime), CancellationToken.None);
                Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM chat_word_daily WHERE chat_id = $1 AND day < $2", chat.Id, DateOnly.FromDateTime(Now.UtcDateTime)));
                Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM chat_member_word_days WHERE chat_id = $1 AND user_id = $2", chat.Id, members[0].Id) >= 3,
                    "Ann's busy days are packed for her");
            }
            else if (stage == "edited")
            {
                var old = sent.Where(m => m.From == members[0] && m.Date < (Now - TimeSpan.FromDays(2)).ToUnixTimeSeconds()).Take(3);
                await WriteAsync(old.Select(m => UpdateFactory.Edited(chat, m.Id, m.From, m.Date, Now.ToUnixTimeSeconds(), "pizza pizza pizza pizza pizza pizza pizza")));
            }
            foreach (var zoneId in Zones)
            {
                var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
                foreach (var word in Periods)
                {
                    var period = Period.TryParse(word, zone, Now, out _)!;
                    // The chat's words, and each member's (the forgotten one's and the opted-out one's are none).
                    foreach (var member in members.Select(m => (long?)m.Id).Prepend(null))
                    {
                        var expected = await RecountAsync(chat.Id, period, 5, member);
                        var actual = await queries.TopAsync(chat.Id, period, member, 5, CancellationToken.None);
                        var where = $"{word} in {zoneId}, {stage}{(member is null ? "" : $", member {member}")}";
                        Assert.True(expected.Words.SequenceEqual(actual.Words), $"{where}: expected {string.Join(", ", expected.Words)}, got {string.Join(", ", actual.Words)}");
                        Assert.True((expected.Texts, expected.Uses) == (actual.Texts, actual.Uses), $"{where}: expected {expected.Texts} texts and {expected.Uses} words, got {actual.Texts} and {actual.Uses}");
                    }
                }
            }
        }
        await RollupInvariant.AssertMatchesMessagesAsync(db, chat.Id);
    }

    /// <summary>
    /// Days with far more words than a packed day's head: the top is settled from the heads and their bounds, with the
    /// rest read for the words near the line, or from every day's full words when the days are too flat to tell.
    /// </summary>
    [Theory]
    [InlineData(11, 1.2)]
    [InlineData(12, 0.6)]
    [InlineData(13, 0.0)]
    public async Task PackedDaysBeyondTheirHeadsAnswerExactly(int seed, double skew)
    {
        var random = new Random(seed);
        var chat = new FakeChat(-100_990 - seed, "Many words");
        var vocabulary = Enumerable.Range(0, 1500).Select(i => $"w{i:D4}x").ToArray();
        // Zipf-like with this skew (0: every word as likely), and each day its own favourites.
        var weights = Enumerable.Range(1, vocabulary.Length).Select(r => 1 / Math.Pow(r, skew)).ToArray();
        var batch = new IngestBatch();
        var id = 0;
        for (var day = 0; day < 6; day++)
        {
            var shift = random.Next(vocabulary.Length);
            var cumulative = weights.Select((w, i) => (w, i)).Aggregate(new List<double>(), (list, p) => { list.Add((list.Count == 0 ? 0 : list[^1]) + p.w); return list; });
            string Word()
            {
                var x = random.NextDouble() * cumulative[^1];
                var at = cumulative.BinarySearch(x);
                var rank = at < 0 ? ~at : at;
                // The most likely words are the same every day for most of them, and a day's own for a few.
                return vocabulary[(rank + (rank % 7 == 3 ? shift : 0)) % vocabulary.Length];
            }
            for (var m = 0; m < 250; m++)
            {
                var date = (Now - TimeSpan.FromDays(day) - TimeSpan.FromMinutes(random.Next(0, 600))).ToUnixTimeSeconds();
                var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(chat, ++id, new FakeUser(3001, "Ann"), date,
                    string.Join(' ', Enumerable.Range(0, 8).Select(_ => Word()))))!.AsObject();
                node["update_id"] = 700_000 + seed * 10_000 + id;
                UpdateMapper.Map(UpdateFactory.Read(node), batch, storeText: true);
            }
        }
        await new IngestWriter(db.DataSource).WriteAsync(batch, CancellationToken.None);
        await WordRollup.FoldAsync(db.DataSource, CancellationToken.None);
        await WordRollup.PackAsync(db.DataSource, DateOnly.FromDateTime(Now.UtcDateTime), CancellationToken.None);
        Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM chat_word_days WHERE chat_id = $1 AND rest_max IS NOT NULL", chat.Id) >= 4,
            "the days hold more words than their heads");
        Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM chat_member_word_days WHERE chat_id = $1 AND rest_max IS NOT NULL", chat.Id) >= 4,
            "the member's days hold more words than their heads");

        var queries = new WordQueries(db.DataSource, new ManualTimeProvider(Now));
        foreach (var word in new[] { "yesterday", "2d", "3d", "week", "2026-06-05..2026-06-08" })
        {
            foreach (var count in new[] { 1, 20, 300 })
            {
                var period = Period.TryParse(word, TimeZoneInfo.Utc, Now, out _)!;
                // The chat's days and its one member's: both packed beyond their heads.
                foreach (var member in new long?[] { null, 3001 })
                {
                    var expected = await RecountAsync(chat.Id, period, count, member);
                    var actual = await queries.TopAsync(chat.Id, period, member, count, CancellationToken.None);
                    Assert.True(expected.Words.SequenceEqual(actual.Words), $"{word}, top {count}, member {member}: expected {string.Join(", ", expected.Words.Take(5))}…, got {string.Join(", ", actual.Words.Take(5))}…");
                    Assert.Equal((expected.Texts, expected.Uses), (actual.Texts, actual.Uses));
                }
            }
        }
    }

    [Fact]
    public async Task AMembersWordsAreTheirsAlone()
    {
        var chat = new FakeChat(-100_980, "Members");
        var (ann, bob) = (new FakeUser(2101, "Ann"), new FakeUser(2102, "Bob"));
        var batch = new IngestBatch();
        var date = Now.ToUnixTimeSeconds() - 3600;
        var id = 0;
        foreach (var (from, text) in new[] { (ann, "pizza pizza pasta"), (bob, "котик котик котик"), (ann, "pizza котик") })
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(chat, ++id, from, date, text))!.AsObject();
            node["update_id"] = 900_000 + id;
            UpdateMapper.Map(UpdateFactory.Read(node), batch, storeText: true);
        }
        await new IngestWriter(db.DataSource).WriteAsync(batch, CancellationToken.None);
        var period = Period.TryParse("today", TimeZoneInfo.Utc, Now, out _)!;
        var queries = new WordQueries(db.DataSource, new ManualTimeProvider(Now));

        var anns = await queries.TopAsync(chat.Id, period, ann.Id, 5, CancellationToken.None);
        var everyone = await queries.TopAsync(chat.Id, period, null, 5, CancellationToken.None);

        Assert.Equal([new("pizza", 3), new("pasta", 1), new("котик", 1)], anns.Words); // ties in ordinal order
        Assert.Equal((2L, 5L), (anns.Texts, anns.Uses));
        Assert.Equal([new("котик", 4), new("pizza", 3), new("pasta", 1)], everyone.Words);
        Assert.Equal((3L, 8L), (everyone.Texts, everyone.Uses));
    }

    [Fact]
    public async Task PeriodsSplitIntoWholeUtcDaysAndTheirEnds()
    {
        var moscow = TimeZoneInfo.FindSystemTimeZoneById("Europe/Moscow");
        var yesterday = Period.TryParse("yesterday", moscow, Now, out _)!;
        var today = Period.TryParse("today", moscow, Now, out _)!;
        var all = Period.TryParse("all", moscow, Now, out _)!;

        // Yesterday in Moscow is 8 June 21:00 UTC to 9 June 21:00: no whole UTC day, one stretch of texts.
        var (none, stretch) = WordQueries.Split(yesterday, Now);
        Assert.Null(none);
        Assert.Equal([(yesterday.From!.Value, yesterday.To)], stretch);
        // Today runs to the end of this hour: the 3 hours before UTC midnight from the texts, then 10 June on.
        var (days, edges) = WordQueries.Split(today, Now);
        Assert.Equal((new DateOnly(2026, 6, 10), DateOnly.MaxValue), days);
        Assert.Equal([(new DateTimeOffset(2026, 6, 9, 21, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 6, 10, 0, 0, 0, TimeSpan.Zero))], edges);
        // All time is the all-time table.
        var (everything, noEdges) = WordQueries.Split(all, Now);
        Assert.Equal((DateOnly.MinValue, DateOnly.MaxValue), everything);
        Assert.Empty(noEdges);
    }

    private async Task<WordTop> RecountAsync(long chatId, Period period, int count, long? userId = null)
    {
        var counter = new WordCounter();
        await using var cmd = db.DataSource.CreateCommand(
            "SELECT text FROM messages WHERE chat_id = $1 AND sent_at >= $2 AND sent_at < $3 AND counted AND text IS NOT NULL AND ($4::bigint IS NULL OR sender_user_id = $4)");
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = chatId });
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<DateTimeOffset> { TypedValue = period.From ?? DateTimeOffset.UnixEpoch });
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<DateTimeOffset> { TypedValue = period.To });
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<long?> { TypedValue = userId });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counter.Add(reader.GetString(0));
        }
        return new WordTop(counter.Top(count), counter.Messages, counter.Uses);
    }
}
