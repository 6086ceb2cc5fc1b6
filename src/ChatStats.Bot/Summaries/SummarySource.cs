using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ChatStats.Bot.Data;
using ChatStats.Bot.Stats;
using Dapper;
using Npgsql;

namespace ChatStats.Bot.Summaries;

/// <summary>One stored text of a period, with its author's name as the chat knows it.</summary>
internal sealed record ChatLine(int Id, DateTimeOffset At, long UserId, string Name, string Text, int? ReplyTo);

/// <summary>
/// What a summary is made of: the period's stored texts in order, members who opted out left out (their texts are not
/// stored, and nothing else of theirs — a name, a reply to them — is read either), and what the offline summary reads
/// from them and from the word rollup.
/// </summary>
internal sealed partial class SummarySource(NpgsqlDataSource dataSource, WordQueries words)
{
    static SummarySource() => SqlMapping.Apply();

    /// <summary>
    /// The most a summary reads: the latest messages of a longer period (a year of a busy chat would not fit a small
    /// server's memory, nor tell more). The word counts still cover the whole period, from the rollup.
    /// </summary>
    public const int MaxLines = 50_000;

    /// <summary>The period's lines in order, the latest <see cref="MaxLines"/> of them at most.</summary>
    public async Task<List<ChatLine>> ReadAsync(long chatId, Period period, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var lines = (await connection.QueryAsync<ChatLine>(new CommandDefinition($"""
            SELECT m.message_id AS id, m.sent_at AS at, m.sender_user_id AS user_id,
                   coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.username, '#' || m.sender_user_id) AS name,
                   m.text, m.reply_to_message_id AS reply_to
            FROM messages m JOIN users u ON u.id = m.sender_user_id
            WHERE m.chat_id = @chat AND m.sent_at >= @from AND m.sent_at < @to AND m.text IS NOT NULL AND m.counted
              AND NOT {MemberChoices.OptedOut("m.chat_id", "m.sender_user_id")}
            ORDER BY m.sent_at DESC, m.message_id DESC LIMIT @limit
            """,
            new { chat = chatId, from = period.From ?? DateTimeOffset.UnixEpoch, to = period.To, limit = MaxLines }, cancellationToken: ct))).AsList();
        lines.Reverse();
        return lines;
    }

    /// <summary>The offline summary's facts: words from the rollup, the rest from the lines.</summary>
    public async Task<OfflineDigest> DigestAsync(long chatId, Period period, IReadOnlyList<ChatLine> lines, CancellationToken ct)
    {
        var top = await words.TopAsync(chatId, period, null, OfflineDigest.TopWords, ct);
        return OfflineDigest.From(lines, top.Words);
    }
}

/// <summary>
/// An extractive summary: what was said most (words from the word rollup, phrases of two counted words), the messages
/// most replied to, the pairs of members who replied to each other most, questions nobody replied to, the links shared
/// and who wrote most. Every list is ordered fully (ties by time, then text), so the same chat gives the same summary.
/// </summary>
internal sealed partial record OfflineDigest(
    int Messages,
    int Members,
    IReadOnlyList<WordCount> Words,
    IReadOnlyList<(string Phrase, int Count)> Phrases,
    IReadOnlyList<(ChatLine Line, int Replies)> MostReplied,
    IReadOnlyList<(string A, string B, int Replies)> Exchanges,
    IReadOnlyList<ChatLine> OpenQuestions,
    IReadOnlyList<(string Url, int Count)> Links,
    IReadOnlyList<(string Name, int Messages)> Active)
{
    public const int TopWords = 8;
    private const int Listed = 3;

    public static OfflineDigest From(IReadOnlyList<ChatLine> lines, IReadOnlyList<WordCount> words)
    {
        var byId = new Dictionary<int, ChatLine>(lines.Count);
        foreach (var line in lines)
        {
            byId[line.Id] = line;
        }
        var replies = new Dictionary<int, int>();
        var pairs = new Dictionary<(long, long), int>();
        var phrases = new Dictionary<string, int>(StringComparer.Ordinal);
        var links = new Dictionary<string, (int Count, int First)>(StringComparer.Ordinal);
        var active = new Dictionary<long, (string Name, int Messages)>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            ref var member = ref CollectionsMarshal.GetValueRefOrAddDefault(active, line.UserId, out _);
            member = (line.Name, member.Messages + 1);
            // Replies count only between lines of the period: a reply to someone who opted out names nobody.
            if (line.ReplyTo is { } to && byId.TryGetValue(to, out var target))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(replies, to, out _)++;
                if (target.UserId != line.UserId)
                {
                    var key = line.UserId < target.UserId ? (line.UserId, target.UserId) : (target.UserId, line.UserId);
                    CollectionsMarshal.GetValueRefOrAddDefault(pairs, key, out _)++;
                }
            }
            string? previous = null;
            foreach (var word in WordCounter.CountedWords(line.Text))
            {
                if (previous is not null && !word.StartsWith("http", StringComparison.Ordinal) && !previous.StartsWith("http", StringComparison.Ordinal))
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(phrases, $"{previous} {word}", out _)++;
                }
                previous = word;
            }
            foreach (Match link in LinkPattern().Matches(line.Text))
            {
                var url = link.Value.TrimEnd('.', ',', ';', ':', '!', '?', ')', ']', '»', '"', '\'');
                ref var seen = ref CollectionsMarshal.GetValueRefOrAddDefault(links, url, out var known);
                seen = (seen.Count + 1, known ? seen.First : i);
            }
        }
        var names = active.ToDictionary(p => p.Key, p => p.Value.Name);
        return new OfflineDigest(
            lines.Count,
            active.Count,
            words,
            [.. phrases.Where(p => p.Value >= 2).OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(5).Select(p => (p.Key, p.Value))],
            [.. replies.OrderByDescending(p => p.Value).ThenBy(p => byId[p.Key].At).ThenBy(p => p.Key).Take(Listed).Select(p => (byId[p.Key], p.Value))],
            [.. pairs.Where(p => p.Value >= 2).OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(Listed).Select(p => (names[p.Key.Item1], names[p.Key.Item2], p.Value))],
            [.. lines.Where(l => IsQuestion(l.Text) && !replies.ContainsKey(l.Id)).Reverse().Take(Listed)],
            [.. links.OrderByDescending(p => p.Value.Count).ThenBy(p => p.Value.First).Take(5).Select(p => (p.Key, p.Value.Count))],
            [.. active.OrderByDescending(p => p.Value.Messages).ThenBy(p => p.Key).Take(Listed).Select(p => (p.Value.Name, p.Value.Messages))]);
    }

    /// <summary>Ends with a question mark: ?, the full-width ？ (Chinese, Japanese), the Arabic ؟, or ; in Greek text.</summary>
    internal static bool IsQuestion(string text)
    {
        var t = text.TrimEnd();
        return t.Length > 3 && (t[^1] is '?' or '？' or '؟' || (t[^1] is ';' or '\u037E' && t.Any(c => c is >= '\u0370' and <= '\u03FF')));
    }

    [GeneratedRegex(@"https?://[^\s<>""]+", RegexOptions.CultureInvariant)]
    private static partial Regex LinkPattern();
}
