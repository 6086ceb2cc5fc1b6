using System.Globalization;
using System.Text;
using ChatStats.Bot.Jobs;
using ChatStats.Bot.Stats;
using ChatStats.Telegram.Sending;
using Hangfire;
using Npgsql;
using ChatStats.Bot.Presentation;
using ChatStats.Bot.Commands;

namespace ChatStats.Bot.Reports;

/// <summary>
/// Each chat's daily digest is a Hangfire recurring job, <c>digest:{chat id}</c>, at the chat's HH:MM in the chat's own
/// time zone (Hangfire's scheduler follows the zone's DST). /settings digest and /settings tz change it at once; a
/// reconcile at worker start and every hour catches what they could not (a group that became a supergroup, a database
/// restored from a backup).
/// </summary>
internal sealed class DigestSchedules(NpgsqlDataSource dataSource, IRecurringJobManager recurring, JobStorage storage, ILogger<DigestSchedules> logger) : IDigestSchedule
{
    public const string Prefix = "digest:";

    public static string IdOf(long chatId) => Prefix + chatId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The cron expression for a digest at <paramref name="at"/> (HH:mm), every day.</summary>
    public static string Cron(TimeOnly at) => $"{at.Minute} {at.Hour} * * *";

    /// <summary>Creates, moves or removes the chat's digest job to match its settings.</summary>
    public async Task ApplyAsync(long chatId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT time_zone, settings->>'digest' FROM chats
            WHERE id = @chat AND migrated_to_chat_id IS NULL AND coalesce(bot_status, 'member') NOT IN ('left', 'kicked')
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct) && !reader.IsDBNull(1) && TimeOnly.TryParseExact(reader.GetString(1), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
        {
            Schedule(chatId, at, Period.ZoneOf(reader.GetString(0)));
        }
        else
        {
            recurring.RemoveIfExists(IdOf(chatId));
        }
    }

    /// <summary>Every chat with a digest has its job, and no job is left for a chat without one.</summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        await using (var cmd = dataSource.CreateCommand("""
            SELECT id, time_zone, settings->>'digest' FROM chats
            WHERE settings ? 'digest' AND migrated_to_chat_id IS NULL AND coalesce(bot_status, 'member') NOT IN ('left', 'kicked')
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                if (TimeOnly.TryParseExact(reader.GetString(2), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
                {
                    Schedule(reader.GetInt64(0), at, Period.ZoneOf(reader.GetString(1)));
                    wanted.Add(IdOf(reader.GetInt64(0)));
                }
            }
        }
        using var connection = storage.GetConnection();
        var removed = 0;
        foreach (var id in connection.GetAllItemsFromSet("recurring-jobs").Where(id => id.StartsWith(Prefix, StringComparison.Ordinal) && !wanted.Contains(id)))
        {
            recurring.RemoveIfExists(id);
            removed++;
        }
        logger.LogInformation("Digest schedules: {Count} chat(s) have one{Removed}", wanted.Count, removed > 0 ? $", {removed} removed" : "");
    }

    private void Schedule(long chatId, TimeOnly at, TimeZoneInfo zone) =>
        recurring.AddOrUpdate<DigestJob>(IdOf(chatId), JobsOptions.DefaultQueue, job => job.RunAsync(chatId, CancellationToken.None), Cron(at),
            new RecurringJobOptions { TimeZone = zone });
}

/// <summary>The hourly reconcile of digest schedules, as a recurring job.</summary>
internal sealed class DigestReconcileJob(DigestSchedules schedules)
{
    public Task RunAsync(CancellationToken ct) => schedules.ReconcileAsync(ct);
}

/// <summary>
/// Yesterday in numbers, sent to the chat as a message: messages, members, busiest hour, the most active. Marks the
/// chat's local day first, so a second run the same day (a retry after the send, a worker killed and its job fetched
/// again) sends nothing; a send that fails is unmarked, so the retry can still send.
/// </summary>
internal sealed class DigestJob(StatsQueries queries, MessageSender sender, NpgsqlDataSource dataSource, TimeProvider time, ILogger<DigestJob> logger)
{
    public async Task RunAsync(long chatId, CancellationToken ct)
    {
        if (await queries.ChatAsync(chatId, ct) is not { } chat)
        {
            return;
        }
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), chat.Zone).DateTime);
        var stamp = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (!await MarkAsync(chatId, stamp, null, ct))
        {
            logger.LogInformation("Digest for chat {ChatId} already sent on {Day}", chatId, stamp);
            return;
        }
        try
        {
            await sender.SendTextAsync(new OutgoingMessage { ChatId = chat.Id, Text = await TextAsync(chat, today.AddDays(-1), ct), Priority = SendPriority.Bulk }, ct);
        }
        catch
        {
            await MarkAsync(chatId, null, stamp, CancellationToken.None);
            throw;
        }
    }

    private async Task<string> TextAsync(ChatInfo chat, DateOnly day, CancellationToken ct)
    {
        var culture = Localizer.Choose(chat.Language, null);
        var period = Period.TryParse(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), chat.Zone, Period.Start(day.AddDays(2), chat.Zone), out _)!;
        var overview = await queries.OverviewAsync(chat.Id, period, ct);
        var label = Formats.Day(day, culture);
        if (overview.Messages == 0)
        {
            return Html.Escape(Localizer.Format("DigestNone", culture, label));
        }
        var top = await queries.TopAsync(chat.Id, period, 3, TopMetric.Messages, ct);
        var body = new StringBuilder();
        body.Append("<b>").Append(Localizer.Format("DigestTitle", culture, Html.Name(chat.Title ?? Localizer.Get("ThisChat", culture)), Html.Escape(label))).Append("</b>\n");
        body.Append(Localizer.Format("StatsMessages", culture, overview.Messages.ToString("N0", culture))).Append('\n');
        body.Append(Localizer.Format("StatsMembers", culture, overview.Members.ToString("N0", culture))).Append('\n');
        if (overview.BusiestHour is { } hour)
        {
            body.Append(Localizer.Format("StatsBusiestHour", culture, hour, (hour + 1) % 24, overview.BusiestHourMessages.ToString("N0", culture))).Append('\n');
        }
        if (top.Leaders.Count > 0)
        {
            body.Append('\n').Append(Localizer.Get("DigestTop", culture)).Append(": ")
                .Append(string.Join(", ", top.Leaders.Select(l => $"{Html.Name(l.Name)} ({l.Value.ToString("N0", culture)})")));
        }
        return body.ToString();
    }

    /// <summary>Sets the chat's digest_last from <paramref name="from"/> to <paramref name="to"/>; false when it was not <paramref name="from"/>.</summary>
    private async Task<bool> MarkAsync(long chatId, string? to, string? from, CancellationToken ct)
    {
        // Marking: digest_last is anything but today. Unmarking: only if it is still the day this run marked.
        await using var cmd = dataSource.CreateCommand(to is not null
            ? """
              UPDATE chats SET settings = jsonb_set(coalesce(settings, '{}'), '{digest_last}', to_jsonb(@to::text))
              WHERE id = @chat AND (settings->>'digest_last') IS DISTINCT FROM @to
              """
            : """
              UPDATE chats SET settings = settings - 'digest_last'
              WHERE id = @chat AND settings->>'digest_last' = @from
              """);
        cmd.Parameters.Add(new NpgsqlParameter<long>("chat", chatId));
        cmd.Parameters.Add(to is not null ? new NpgsqlParameter<string>("to", to) : new NpgsqlParameter<string>("from", from!));
        return await cmd.ExecuteNonQueryAsync(ct) > 0;
    }
}
