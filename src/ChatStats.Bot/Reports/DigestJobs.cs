using System.Globalization;
using System.Text;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Stats;
using ChatStats.Jobs;
using ChatStats.Telegram.Sending;
using Npgsql;

namespace ChatStats.Bot.Reports;

internal sealed record DigestSweepArgs;

/// <summary>
/// Every five minutes: chats whose digest time (/settings digest HH:MM, in the chat's own time zone) has come today
/// and that have not had today's digest get a digest job. Unique per chat and day, so a second sweep or a second
/// process cannot send it twice.
/// </summary>
internal sealed class DigestSweepJob(NpgsqlDataSource dataSource, JobClient jobs, TimeProvider time, ILogger<DigestSweepJob> logger) : IJob<DigestSweepArgs>
{
    public const string Cron = "*/5 * * * *";

    public async Task RunAsync(DigestSweepArgs args, JobContext context)
    {
        var ct = context.Cancellation;
        var due = new List<(long Chat, DateOnly Day)>();
        await using (var cmd = dataSource.CreateCommand("""
            SELECT id, time_zone, settings->>'digest', settings->>'digest_last' FROM chats
            WHERE settings ? 'digest' AND coalesce(bot_status, 'member') NOT IN ('left', 'kicked') AND migrated_to_chat_id IS NULL
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            var now = time.GetUtcNow();
            while (await reader.ReadAsync(ct))
            {
                var zone = Period.ZoneOf(reader.GetString(1));
                var local = TimeZoneInfo.ConvertTime(now, zone);
                var today = DateOnly.FromDateTime(local.DateTime);
                if (TimeOnly.TryParseExact(reader.GetString(2), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
                    && TimeOnly.FromDateTime(local.DateTime) >= at
                    && (reader.IsDBNull(3) || reader.GetString(3) != today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)))
                {
                    due.Add((reader.GetInt64(0), today));
                }
            }
        }
        foreach (var (chat, day) in due)
        {
            var stamp = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            await jobs.EnqueueAsync<DigestJob, DigestArgs>(new DigestArgs(chat, stamp), new EnqueueOptions { Queue = "default", UniqueKey = $"digest:{chat}:{stamp}" }, ct);
            await using var mark = dataSource.CreateCommand("UPDATE chats SET settings = jsonb_set(settings, '{digest_last}', to_jsonb($2::text)) WHERE id = $1");
            mark.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chat });
            mark.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stamp });
            await mark.ExecuteNonQueryAsync(ct);
        }
        if (due.Count > 0)
        {
            logger.LogInformation("Digests due for {Count} chat(s)", due.Count);
        }
    }
}

/// <param name="Day">The chat's local date the digest is for the day before of (yyyy-MM-dd).</param>
internal sealed record DigestArgs(long ChatId, string Day);

/// <summary>Yesterday in numbers, sent to the chat as a message: messages, members, busiest hour, the most active.</summary>
internal sealed class DigestJob(StatsQueries queries, MessageSender sender) : IJob<DigestArgs>
{
    public async Task RunAsync(DigestArgs args, JobContext context)
    {
        var ct = context.Cancellation;
        if (await queries.ChatAsync(args.ChatId, ct) is not { } chat)
        {
            return;
        }
        var culture = Localizer.Choose(chat.Language, null);
        var day = DateOnly.ParseExact(args.Day, "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(-1);
        var period = Period.TryParse(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), chat.Zone, Period.Start(day.AddDays(2), chat.Zone), out _)!;
        var overview = await queries.OverviewAsync(chat.Id, period, ct);
        var label = StatsSupport.Day(day, culture);
        string text;
        if (overview.Messages == 0)
        {
            text = Html.Escape(Localizer.Format("DigestNone", culture, label));
        }
        else
        {
            var top = await queries.TopAsync(chat.Id, period, 3, TopMetric.Messages, ct);
            var body = new StringBuilder();
            body.Append("<b>").Append(Html.Escape(Localizer.Format("DigestTitle", culture, chat.Title ?? Localizer.Get("ThisChat", culture), label))).Append("</b>\n");
            body.Append(Localizer.Format("StatsMessages", culture, overview.Messages.ToString("N0", culture))).Append('\n');
            body.Append(Localizer.Format("StatsMembers", culture, overview.Members.ToString("N0", culture))).Append('\n');
            if (overview.BusiestHour is { } hour)
            {
                body.Append(Localizer.Format("StatsBusiestHour", culture, hour, (hour + 1) % 24, overview.BusiestHourMessages.ToString("N0", culture))).Append('\n');
            }
            if (top.Leaders.Count > 0)
            {
                body.Append('\n').Append(Localizer.Get("DigestTop", culture)).Append(": ")
                    .Append(string.Join(", ", top.Leaders.Select(l => $"{Html.Escape(l.Name)} ({l.Value.ToString("N0", culture)})")));
            }
            text = body.ToString();
        }
        await sender.SendTextAsync(new OutgoingMessage { ChatId = chat.Id, Text = text, Priority = SendPriority.Bulk }, ct);
    }
}
