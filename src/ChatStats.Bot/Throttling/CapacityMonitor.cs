using ChatStats.Bot.Data;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Serialization;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Sending;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Throttling;

[JsonConverter(typeof(JsonStringEnumConverter<CapacityStatus>))]
public enum CapacityStatus
{
    LOW,
    HEALTHY,
    WARNING,
    FULL,
}

/// <summary>What <c>GET /api/admin/capacity</c> answers, in the French guide's shape.</summary>
public sealed record CapacitySnapshot(
    [property: JsonPropertyName("current")] int Current,
    [property: JsonPropertyName("max")] int Max,
    [property: JsonPropertyName("percent")] double Percent,
    [property: JsonPropertyName("available")] int Available,
    [property: JsonPropertyName("status")] CapacityStatus Status,
    [property: JsonPropertyName("can_accept_new")] bool CanAcceptNew,
    [property: JsonPropertyName("measured_at")] DateTimeOffset MeasuredAt)
{
    public static CapacitySnapshot Of(int current, int max, DateTimeOffset at)
    {
        if (max == 0)
        {
            return new(current, 0, 0, int.MaxValue, CapacityStatus.LOW, true, at);
        }
        var percent = Math.Round(100.0 * current / max, 1);
        var status = percent switch
        {
            < 50 => CapacityStatus.LOW,
            < 80 => CapacityStatus.HEALTHY,
            < 100 => CapacityStatus.WARNING,
            _ => CapacityStatus.FULL,
        };
        return new(current, max, percent, Math.Max(0, max - current), status, current < max, at);
    }
}

/// <summary>
/// How many groups this server serves against <c>Limits:MaxActiveChats</c>. A group is active if it had messages in the
/// last 24 hours or took the bot in during them. When the server is full, a group that adds the bot is refused: nothing
/// of it is recorded, the bot says why and leaves. Groups already served are never refused.
/// </summary>
internal sealed class CapacityMonitor(NpgsqlDataSource dataSource, IOptions<LimitsOptions> options, TimeProvider time)
{
    public static readonly TimeSpan ActiveWindow = TimeSpan.FromHours(24);
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _refused = new();
    private HashSet<long> _active = [];
    private CapacitySnapshot? _snapshot;

    public int Max => options.Value.MaxActiveChats;

    /// <summary>The last measurement; null until the first refresh.</summary>
    public CapacitySnapshot? Snapshot => _snapshot;

    /// <summary>Counts the active groups again (an index probe per known group on the hourly rollup).</summary>
    public async Task<CapacitySnapshot> RefreshAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var since = now - ActiveWindow;
        var hour = new DateTimeOffset(since.Year, since.Month, since.Day, since.Hour, 0, 0, TimeSpan.Zero);
        await using var cmd = dataSource.CreateCommand("""
            SELECT c.id FROM chats c
            WHERE c.type IN ('group', 'supergroup') AND c.migrated_to_chat_id IS NULL
              AND coalesce(c.bot_status, 'member') NOT IN ('left', 'kicked')
              AND (c.first_seen_at >= @since OR EXISTS (SELECT 1 FROM chat_user_hourly h WHERE h.chat_id = c.id AND h.hour >= @hour))
            """).With("since", since).With("hour", hour);
        var active = new HashSet<long>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                active.Add(reader.GetInt64(0));
            }
        }
        lock (_lock)
        {
            // Groups admitted since the query started stay counted.
            if (_snapshot is not null)
            {
                active.UnionWith(_active.Where(id => !active.Contains(id) && _admittedAt.TryGetValue(id, out var at) && at >= now - ActiveWindow));
            }
            foreach (var (id, at) in _admittedAt)
            {
                if (at < now - ActiveWindow)
                {
                    _admittedAt.TryRemove(id, out _);
                }
            }
            _active = active;
            _snapshot = CapacitySnapshot.Of(active.Count, Max, now);
            return _snapshot;
        }
    }

    private readonly ConcurrentDictionary<long, DateTimeOffset> _admittedAt = new();

    /// <summary>
    /// The bot was added to a group: admits it (counting it at once, so a burst of invitations cannot overshoot) unless
    /// the server is full and the group is not one it already serves. Decided once per invitation: asking again for
    /// the same group gives the same answer until it invites the bot anew.
    /// </summary>
    public bool AdmitJoin(long chatId, DateTimeOffset invitedAt)
    {
        lock (_lock)
        {
            // One invitation arrives twice (a service message and my_chat_member, about the same second): one answer.
            if (_refused.TryGetValue(chatId, out var refusedInvitation) && invitedAt <= refusedInvitation + SameInvitation)
            {
                return false;
            }
            _refused.TryRemove(chatId, out _);
            if (_active.Contains(chatId) || Max == 0 || _snapshot is null || _active.Count < Max)
            {
                if (_active.Add(chatId))
                {
                    _admittedAt[chatId] = time.GetUtcNow();
                    _snapshot = CapacitySnapshot.Of(_active.Count, Max, _snapshot?.MeasuredAt ?? time.GetUtcNow());
                }
                return true;
            }
            _refused[chatId] = invitedAt;
            CapacityMetrics.Refused.Add(1);
            return false;
        }
    }

    private static readonly TimeSpan SameInvitation = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether an update may be recorded and answered: an invitation of the bot into a group is decided here
    /// (<see cref="AdmitJoin"/>); anything else from a refused group is not.
    /// </summary>
    public bool Admits(Update update, long? botId)
    {
        if (update.MyChatMember is { } change && change.Chat.IsGroup() && !change.OldChatMember.IsInChat && change.NewChatMember.IsInChat)
        {
            return AdmitJoin(change.Chat.Id, new DateTimeOffset(DateTime.SpecifyKind(change.Date, DateTimeKind.Utc)));
        }
        if (update.Message is { NewChatMembers: { Length: > 0 } joined } message && message.Chat.IsGroup() && botId is { } me && joined.Any(u => u.Id == me))
        {
            return AdmitJoin(message.Chat.Id, new DateTimeOffset(DateTime.SpecifyKind(message.Date, DateTimeKind.Utc)));
        }
        return update.ChatId() is not { } chat || !IsRefused(chat);
    }

    /// <summary>Whether updates from this group are refused (it invited the bot while the server was full).</summary>
    public bool IsRefused(long chatId) => !_refused.IsEmpty && _refused.ContainsKey(chatId);

}

internal static class CapacityMetrics
{
    private static readonly Meter Meter = new("ChatStats.Bot.Capacity");
    public static readonly Counter<long> Refused = Meter.CreateCounter<long>("chatstats.capacity.refused", "{chat}", "Groups refused because the server was full.");
    public static readonly Counter<long> Alerts = Meter.CreateCounter<long>("chatstats.capacity.alerts", "{alert}", "Capacity alerts raised, by threshold percent.");
}

/// <summary>
/// Measures capacity every 30 s, publishes it as gauges, and raises an alert when use crosses 80, 95 and 100 %: a log
/// warning, a metric, and (in the bot role, with Limits:OwnerUserId set) a private message to the operator. An alert
/// is raised once per crossing; it re-arms when use falls 5 points below its threshold.
/// </summary>
internal sealed class CapacityService(CapacityMonitor monitor, IServiceProvider services, IOptions<LimitsOptions> options, IMeterFactory meters, TimeProvider time, ILogger<CapacityService> logger) : BackgroundService
{
    public static readonly int[] Thresholds = [80, 95, 100];
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private int _alerted;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var meter = meters.Create("ChatStats.Bot.Capacity");
        meter.CreateObservableGauge("chatstats.capacity.active_chats", () => monitor.Snapshot?.Current ?? 0, "{chat}", "Groups active in the last 24 h.");
        meter.CreateObservableGauge("chatstats.capacity.max_chats", () => monitor.Max, "{chat}", "Limits:MaxActiveChats (0: no cap).");
        meter.CreateObservableGauge("chatstats.capacity.percent", () => monitor.Snapshot?.Percent ?? 0, "%", "Active groups as a share of the cap.");
        meter.CreateObservableGauge("chatstats.capacity.status", () => (int)(monitor.Snapshot?.Status ?? CapacityStatus.LOW), "{status}", "0 LOW, 1 HEALTHY, 2 WARNING, 3 FULL.");

        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var snapshot = await monitor.RefreshAsync(stoppingToken);
                await AlertAsync(snapshot, stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Capacity not measured: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task AlertAsync(CapacitySnapshot snapshot, CancellationToken ct)
    {
        if (snapshot.Max == 0)
        {
            return;
        }
        if (snapshot.Percent < _alerted - 5)
        {
            _alerted = Thresholds.Where(t => t <= snapshot.Percent).DefaultIfEmpty(0).Max();
        }
        var crossed = Thresholds.Where(t => t <= snapshot.Percent && t > _alerted).DefaultIfEmpty(0).Max();
        if (crossed == 0)
        {
            return;
        }
        _alerted = crossed;
        CapacityMetrics.Alerts.Add(1, new KeyValuePair<string, object?>("threshold", crossed));
        var text = crossed >= 100
            ? $"ChatStats capacity: FULL ({snapshot.Current}/{snapshot.Max} active chats). New groups are refused; raise Limits:MaxActiveChats if this machine has room (chatstats doctor suggests a value)."
            : $"ChatStats capacity: {snapshot.Percent:0.#}% used ({snapshot.Current}/{snapshot.Max} active chats, {snapshot.Status}).";
        logger.LogWarning("{Alert}", text);
        var owner = options.Value.OwnerUserId;
        if (owner != 0 && services.GetService<MessageSender>() is { } sender)
        {
            try
            {
                await sender.SendTextAsync(new OutgoingMessage { ChatId = owner, Text = Presentation.Html.Escape(text), Priority = SendPriority.Bulk }, ct);
            }
            catch (Exception ex) when (ex is RequestException or OperationCanceledException)
            {
                // The owner may never have started a private chat with the bot; the log line above still stands.
                logger.LogWarning("Capacity alert not delivered to the owner {OwnerUserId}: {Error}", owner, ex.Message);
            }
        }
    }
}
