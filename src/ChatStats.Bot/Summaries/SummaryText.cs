using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ChatStats.Bot.Commands;
using ChatStats.Telegram.Sending;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Summaries;

/// <summary>
/// A summary as one Telegram message in HTML: every piece of chat text and model output escaped, cut to fit, and unable
/// to mention anyone (an @ followed by a name gets a word joiner, so Telegram links and notifies nobody).
/// </summary>
internal static partial class SummaryText
{
    /// <summary>What the body may take of a message, leaving room for the title, the notes and the "asked by" line.</summary>
    public const int BodyBudget = MessageSender.MaxMessageLength - 600;

    /// <summary>A quote from the chat on one line: whitespace collapsed, cut to <paramref name="max"/> characters.</summary>
    public static string Quote(string text, int max = 90)
    {
        var flat = Whitespace().Replace(text, " ").Trim();
        if (flat.Length > max)
        {
            var cut = max;
            // Never between the halves of a surrogate pair.
            if (char.IsHighSurrogate(flat[cut - 1]))
            {
                cut--;
            }
            flat = flat[..cut].TrimEnd() + "…";
        }
        return Defuse(Html.Escape(flat));
    }

    /// <summary>Plain text safe to show: escaped and mentioning nobody.</summary>
    public static string Plain(string text) => Defuse(Html.Escape(text));

    /// <summary>
    /// The model's answer as HTML: control characters dropped, escaped, mentions defused, Markdown's **bold** and
    /// # headings as bold, list markers as bullets, blank lines collapsed, cut at a line end to <paramref name="max"/>.
    /// </summary>
    public static string FromModel(string text, int max = BodyBudget)
    {
        var lines = new List<string>();
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            var line = new string([.. raw.Where(c => !char.IsControl(c) || c == '\t')]).Replace('\t', ' ').TrimEnd();
            if (line.Length == 0)
            {
                if (lines.Count > 0 && lines[^1].Length > 0)
                {
                    lines.Add("");
                }
                continue;
            }
            var trimmed = line.TrimStart();
            string html;
            if (Heading().Match(trimmed) is { Success: true } heading)
            {
                html = $"<b>{Plain(heading.Groups[1].Value.Trim().Trim('*'))}</b>";
            }
            else
            {
                var bullet = ListItem().Match(trimmed);
                var body = Plain(bullet.Success ? bullet.Groups[1].Value : trimmed);
                body = Bold().Replace(body, m => $"<b>{m.Groups[1].Value}</b>");
                html = bullet.Success ? "• " + body : body;
            }
            lines.Add(html);
        }
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var result = new StringBuilder();
        foreach (var line in lines)
        {
            if (result.Length + line.Length + 1 > max)
            {
                result.Append('…');
                break;
            }
            result.Append(line).Append('\n');
        }
        return result.ToString().TrimEnd('\n');
    }

    /// <summary>The offline summary, in the reader's language.</summary>
    public static string Offline(OfflineDigest d, CommandContext context) => Offline(d, context.Culture);

    /// <summary>The offline summary in a language: Telegram's HTML, which a report's HTML shows as it is.</summary>
    public static string Offline(OfflineDigest d, CultureInfo culture)
    {
        var context = new Localized(culture);
        string N(int n) => n.ToString("N0", culture);
        var text = new StringBuilder();
        text.Append(context.T("SummaryCounts", N(d.Messages), N(d.Members))).Append('\n');
        if (d.Words.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("SummaryTalkedAbout")).Append("</b> ")
                .AppendJoin(", ", d.Words.Select(w => $"{Plain(w.Word)} ({w.Count.ToString("N0", culture)})")).Append('\n');
        }
        if (d.Phrases.Count > 0)
        {
            text.Append("<b>").Append(context.T("SummaryPhrases")).Append("</b> ")
                .AppendJoin(", ", d.Phrases.Select(p => $"«{Plain(p.Phrase)}» ({N(p.Count)})")).Append('\n');
        }
        if (d.MostReplied.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("SummaryMostReplied")).Append("</b>\n");
            foreach (var (line, replies) in d.MostReplied)
            {
                text.Append("• ").Append(Plain(line.Name)).Append(": «").Append(Quote(line.Text)).Append("» — ").Append(replies == 1 ? context.T("SummaryReply") : context.T("SummaryReplies", N(replies))).Append('\n');
            }
        }
        if (d.Exchanges.Count > 0)
        {
            text.Append("<b>").Append(context.T("SummaryExchanges")).Append("</b> ")
                .AppendJoin(", ", d.Exchanges.Select(e => $"{Plain(e.A)} ↔ {Plain(e.B)} ({N(e.Replies)})")).Append('\n');
        }
        if (d.OpenQuestions.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("SummaryOpenQuestions")).Append("</b>\n");
            foreach (var line in d.OpenQuestions)
            {
                text.Append("• ").Append(Plain(line.Name)).Append(": «").Append(Quote(line.Text)).Append("»\n");
            }
        }
        if (d.Links.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("SummaryLinks")).Append("</b>\n");
            foreach (var (url, count) in d.Links)
            {
                text.Append("• ").Append(Quote(url, 120)).Append(count > 1 ? $" ({N(count)}×)" : "").Append('\n');
            }
        }
        if (d.Active.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("SummaryActive")).Append("</b> ")
                .AppendJoin(", ", d.Active.Select(a => $"{Plain(a.Name)} {N(a.Messages)}")).Append('\n');
        }
        return text.ToString().TrimEnd('\n');
    }

    /// <summary>
    /// Why a summary was computed here, in a line: <paramref name="reason"/> as <see cref="AiUnavailableException.Reason"/>
    /// or the readiness check gives it. A report says its own line for a provider's failure.
    /// </summary>
    public static string OfflineNote(string reason, CultureInfo culture, bool report = false)
    {
        var t = new Localized(culture);
        return reason switch
        {
            "not_configured" => t.T("SummaryOfflineNote"),
            "breaker_open" => t.T("SummaryOfflineBreaker"),
            "budget" => t.T("SummaryOfflineBudget"),
            "busy" => t.T("SummaryOfflineBusy"),
            "timeout" => t.T("SummaryOfflineTimeout"),
            "rate_limited" => t.T("SummaryOfflineRateLimited"),
            _ when report => t.T("SummaryOfflineReport"),
            _ => t.T("SummaryOfflineFailed", reason switch
            {
                _ when reason.StartsWith("http_", StringComparison.Ordinal) => "HTTP " + reason[5..],
                "malformed" => t.T("SummaryReasonMalformed"),
                "empty" => t.T("SummaryReasonEmpty"),
                _ => t.T("SummaryReasonUnreachable"),
            }),
        };
    }

    /// <summary>What the model's summary was written from, and that it can be wrong.</summary>
    public static string BasedOn(AiSummary summary, IReadOnlyList<ChatLine> lines, string model, CultureInfo culture)
    {
        var t = new Localized(culture);
        var sampled = summary.LinesUsed < lines.Count ? t.T("SummarySampled", Number(summary.LinesUsed, culture)) : "";
        return t.T("SummaryBasedOn", Number(lines.Count, culture), Number(lines.Select(l => l.UserId).Distinct().Count(), culture), sampled, Html.Escape(model));
    }

    /// <summary>The message: title, body, then the notes (why it is offline, what it was based on), in italics.</summary>
    public static string Message(string title, string body, IEnumerable<string> notes)
    {
        var text = new StringBuilder().Append("<b>").Append(title).Append("</b>\n\n").Append(body);
        foreach (var note in notes)
        {
            text.Append("\n\n<i>").Append(note).Append("</i>");
        }
        return text.ToString();
    }

    private readonly record struct Localized(CultureInfo Culture)
    {
        public string T(string key) => Localizer.Get(key, Culture);

        public string T(string key, params object?[] args) => Localizer.Format(key, Culture, args);
    }

    /// <summary>An @ before a name (a mention, or @everyone-style attempts) gets a word joiner: it reads the same, links nobody.</summary>
    public static string Defuse(string text) => Mention().Replace(text, "@\u2060");

    public static string Number(int value, CultureInfo culture) => value.ToString("N0", culture);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"@(?=[\p{L}\p{N}_])")]
    private static partial Regex Mention();

    [GeneratedRegex(@"^#{1,6}\s+(.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^(?:[-*•]|\d+[.)])\s+(.+)$")]
    private static partial Regex ListItem();

    [GeneratedRegex(@"\*\*(.+?)\*\*")]
    private static partial Regex Bold();
}
