using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace ChatStats.Bot.Data;

/// <summary>The rollups' per-kind counters, declared from <see cref="MessageKinds"/> so the list of kinds stays in one place.</summary>
internal static class KindCountColumns
{
    /// <summary>
    /// One integer column per message kind (text_count, photo_count, …, other_count). They are shadow properties: the
    /// rollups are written and read in SQL through <see cref="MessageKinds.Columns"/>, never through the entities. The
    /// snake-case convention of <see cref="ChatStatsDbContext"/> names them as <see cref="MessageKinds.Column"/> does.
    /// </summary>
    public static void HasKindCounts<T>(this EntityTypeBuilder<T> b) where T : class
    {
        foreach (var kind in MessageKinds.All)
        {
            b.Property<int>($"{kind}Count");
        }
    }
}

internal sealed class ChatEntity
{
    public long Id { get; set; }
    public required string Type { get; set; }
    public string? Title { get; set; }
    public string? Username { get; set; }
    public bool IsForum { get; set; }
    /// <summary>IANA zone the chat's statistics are shown in.</summary>
    public string TimeZone { get; set; } = "UTC";
    /// <summary>Reply language chosen by the chat's admins (en, ru); null means "follow the sender".</summary>
    public string? Language { get; set; }
    public int? RetentionDays { get; set; }
    public bool StoreText { get; set; } = true;
    /// <summary>Everything else a chat can configure, as JSON.</summary>
    public string Settings { get; set; } = "{}";
    /// <summary>Set when this group became a supergroup; its history now lives under that id.</summary>
    public long? MigratedToChatId { get; set; }
    /// <summary>member, administrator, left or kicked: the bot's own standing in the chat.</summary>
    public string? BotStatus { get; set; }
    /// <summary>The chat's rate tier (Limits:Tiers), set by the operator; null means Limits:DefaultTier.</summary>
    public string? Tier { get; set; }
    public DateTimeOffset FirstSeenAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class ChatConfiguration : IEntityTypeConfiguration<ChatEntity>
{
    public void Configure(EntityTypeBuilder<ChatEntity> b)
    {
        b.ToTable("chats");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).ValueGeneratedNever();
        b.Property(x => x.TimeZone).HasDefaultValue("UTC");
        b.Property(x => x.StoreText).HasDefaultValue(true);
        b.Property(x => x.Settings).HasColumnType("jsonb").HasDefaultValueSql("'{}'::jsonb");
    }
}

internal sealed class ChatTitleChange
{
    public long Id { get; set; }
    public long ChatId { get; set; }
    /// <summary>The service message that announced the change; 0 for the title the bot first saw.</summary>
    public int MessageId { get; set; }
    public required string Title { get; set; }
    public long? ChangedByUserId { get; set; }
    public DateTimeOffset ChangedAt { get; set; }
}

internal sealed class ChatTitleChangeConfiguration : IEntityTypeConfiguration<ChatTitleChange>
{
    public void Configure(EntityTypeBuilder<ChatTitleChange> b)
    {
        b.ToTable("chat_title_history");
        b.HasKey(x => x.Id);
        b.HasIndex(x => new { x.ChatId, x.MessageId }).IsUnique();
    }
}

internal sealed class UserEntity
{
    public long Id { get; set; }
    public bool IsBot { get; set; }
    public required string FirstName { get; set; }
    public string? LastName { get; set; }
    public string? Username { get; set; }
    public string? LanguageCode { get; set; }
    public DateTimeOffset FirstSeenAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class UserConfiguration : IEntityTypeConfiguration<UserEntity>
{
    public void Configure(EntityTypeBuilder<UserEntity> b)
    {
        b.ToTable("users");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).ValueGeneratedNever();
        b.HasIndex(x => x.Username);
    }
}

internal sealed class UserNameChange
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public required string FirstName { get; set; }
    public string? LastName { get; set; }
    public string? Username { get; set; }
    public DateTimeOffset SeenAt { get; set; }
}

internal sealed class UserNameChangeConfiguration : IEntityTypeConfiguration<UserNameChange>
{
    public void Configure(EntityTypeBuilder<UserNameChange> b)
    {
        b.ToTable("user_name_history");
        b.HasKey(x => x.Id);
        b.HasIndex(x => new { x.UserId, x.SeenAt });
    }
}

internal sealed class StoredMessage
{
    public long ChatId { get; set; }
    public int MessageId { get; set; }
    public long? SenderUserId { get; set; }
    public long? SenderChatId { get; set; }
    public DateTimeOffset SentAt { get; set; }
    public short Kind { get; set; }
    public string? Text { get; set; }
    public int CharCount { get; set; }
    public int WordCount { get; set; }
    public int? ReplyToMessageId { get; set; }
    public long? ReplyToUserId { get; set; }
    public bool IsForwarded { get; set; }
    public int? ThreadId { get; set; }
    public DateTimeOffset? EditedAt { get; set; }
    /// <summary>False for messages that are not a member's activity: other bots, posts on behalf of a channel.</summary>
    public bool Counted { get; set; }
}

internal sealed class StoredMessageConfiguration : IEntityTypeConfiguration<StoredMessage>
{
    public void Configure(EntityTypeBuilder<StoredMessage> b)
    {
        b.ToTable("messages");
        // Statistics read the rollups; the few that read messages (words, reply pairs, retention) find a period through
        // a BRIN index on sent_at: rows arrive in time order, and BRIN costs next to nothing per ingested row.
        b.HasKey(x => new { x.ChatId, x.MessageId });
        b.HasIndex(x => x.SentAt).HasMethod("brin");
        // A member's messages of a period without reading the chat's: /words @user (for the days not packed per member),
        // /optout and /forgetme in a chat. One more index on every write of a message, measured in docs/benchmarks.md.
        b.HasIndex(x => new { x.ChatId, x.SenderUserId, x.SentAt });
    }
}

/// <summary>What a service message records. The numbers are stored; never renumber.</summary>
internal enum ServiceEventKind : short
{
    Joined = 1,
    Left = 2,
    TitleChanged = 3,
    Pinned = 4,
    MigratedTo = 5,
    MigratedFrom = 6,
    PhotoChanged = 7,
    Created = 8,
}

internal sealed class ServiceEvent
{
    public long ChatId { get; set; }
    public int MessageId { get; set; }
    /// <summary>Position within the message: one message can add several members.</summary>
    public short Seq { get; set; }
    public short Kind { get; set; }
    public long? UserId { get; set; }
    public long? TargetUserId { get; set; }
    public string? Data { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
}

internal sealed class ServiceEventConfiguration : IEntityTypeConfiguration<ServiceEvent>
{
    public void Configure(EntityTypeBuilder<ServiceEvent> b)
    {
        b.ToTable("service_events");
        b.HasKey(x => new { x.ChatId, x.MessageId, x.Seq });
        b.HasIndex(x => new { x.ChatId, x.TargetUserId });
    }
}

/// <summary>
/// The rollup every hot statistic reads: one row per chat × UTC hour × member. Besides these, a count per message kind
/// (<see cref="KindCountColumns.HasKindCounts"/>).
/// </summary>
internal sealed class HourlyActivity
{
    public long ChatId { get; set; }
    public DateTimeOffset Hour { get; set; }
    public long UserId { get; set; }
    public int Messages { get; set; }
    public long Words { get; set; }
    public long Chars { get; set; }
}

internal sealed class HourlyActivityConfiguration : IEntityTypeConfiguration<HourlyActivity>
{
    public void Configure(EntityTypeBuilder<HourlyActivity> b)
    {
        b.ToTable("chat_user_hourly");
        // Counters change in place all day: leave room on each page so those updates stay HOT (no index writes).
        b.HasStorageParameter("fillfactor", 70);
        b.HasKey(x => new { x.ChatId, x.Hour, x.UserId });
        b.HasIndex(x => new { x.ChatId, x.UserId, x.Hour });
        b.HasKindCounts();
    }
}

/// <summary>
/// The rollup summed over members: one row per chat × UTC hour. Totals, busiest days and hours, heatmaps, histories
/// and kinds read it: a two-year chat is 17,520 rows whatever its size. Kept by triggers on chat_user_hourly. Besides
/// these, a count per message kind (<see cref="KindCountColumns.HasKindCounts"/>).
/// </summary>
internal sealed class ChatHourly
{
    public long ChatId { get; set; }
    public DateTimeOffset Hour { get; set; }
    public long Messages { get; set; }
    public long Words { get; set; }
    public long Chars { get; set; }
}

internal sealed class ChatHourlyConfiguration : IEntityTypeConfiguration<ChatHourly>
{
    public void Configure(EntityTypeBuilder<ChatHourly> b)
    {
        b.ToTable("chat_hourly");
        b.HasStorageParameter("fillfactor", 70);
        b.HasKey(x => new { x.ChatId, x.Hour });
        b.HasKindCounts();
    }
}

/// <summary>
/// A member's all-time totals in a chat: leaderboards, ranks and member counts for "all" read one row per member
/// instead of every hour they spoke in. Kept by triggers on chat_user_hourly.
/// </summary>
internal sealed class ChatUserTotals
{
    public long ChatId { get; set; }
    public long UserId { get; set; }
    public long Messages { get; set; }
    public long Words { get; set; }
    public long Chars { get; set; }
    public long Media { get; set; }
}

internal sealed class ChatUserTotalsConfiguration : IEntityTypeConfiguration<ChatUserTotals>
{
    public void Configure(EntityTypeBuilder<ChatUserTotals> b)
    {
        b.ToTable("chat_user_totals");
        b.HasStorageParameter("fillfactor", 70);
        b.HasKey(x => new { x.ChatId, x.UserId });
    }
}

internal sealed class DeadLetter
{
    public long Id { get; set; }
    public long? UpdateId { get; set; }
    public long? ChatId { get; set; }
    /// <summary>The update as received: text, because a malformed update may not even be JSON PostgreSQL accepts.</summary>
    public required string Payload { get; set; }
    public required string Error { get; set; }
    public DateTimeOffset FailedAt { get; set; }
}

internal sealed class DeadLetterConfiguration : IEntityTypeConfiguration<DeadLetter>
{
    public void Configure(EntityTypeBuilder<DeadLetter> b)
    {
        b.ToTable("dead_letters");
        b.HasKey(x => x.Id);
        b.HasIndex(x => x.UpdateId).IsUnique();
        b.HasIndex(x => x.FailedAt);
    }
}

/// <summary>A running role's heartbeat, so /health/ready in the web process can report the poller of the bot process.</summary>
internal sealed class InstanceStatus
{
    public required string Id { get; set; }
    public required string Role { get; set; }
    public required string Host { get; set; }
    public int Pid { get; set; }
    public required string State { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset HeartbeatAt { get; set; }
    /// <summary>What the instance reports about itself (limiter stats, load level) as JSON, for admin pages in other processes.</summary>
    public string? Details { get; set; }
}

internal sealed class InstanceStatusConfiguration : IEntityTypeConfiguration<InstanceStatus>
{
    public void Configure(EntityTypeBuilder<InstanceStatus> b)
    {
        b.ToTable("instances");
        b.HasKey(x => x.Id);
        b.Property(x => x.Details).HasColumnType("jsonb");
    }
}

/// <summary>A member's privacy choice in one chat: opted out means no stored text and no place in leaderboards.</summary>
internal sealed class ChatMemberPrefs
{
    public long ChatId { get; set; }
    public long UserId { get; set; }
    public bool OptedOut { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class ChatMemberPrefsConfiguration : IEntityTypeConfiguration<ChatMemberPrefs>
{
    public void Configure(EntityTypeBuilder<ChatMemberPrefs> b)
    {
        b.ToTable("chat_member_prefs");
        b.HasKey(x => new { x.ChatId, x.UserId });
    }
}

/// <summary>
/// Someone who said /forgetme: in one chat, or with <see cref="ChatId"/> 0 in every chat. Nothing of theirs from before
/// <see cref="ForgottenAt"/> is recorded again — not from an import of an older export, not from a late edit of an old
/// message; what they write afterwards counts as usual.
/// </summary>
internal sealed class ForgottenMember
{
    public const long EveryChat = 0;

    public long UserId { get; set; }
    public long ChatId { get; set; }
    public DateTimeOffset ForgottenAt { get; set; }
}

internal sealed class ForgottenMemberConfiguration : IEntityTypeConfiguration<ForgottenMember>
{
    public void Configure(EntityTypeBuilder<ForgottenMember> b)
    {
        b.ToTable("forgotten_members");
        b.HasKey(x => new { x.UserId, x.ChatId });
    }
}

/// <summary>Heavy jobs (reports, AI) a chat started on one day of its own calendar, against Limits:DailyHeavyQuota.</summary>
internal sealed class ChatDailyUsage
{
    public long ChatId { get; set; }
    public DateOnly Day { get; set; }
    public int Used { get; set; }

    /// <summary>Tokens the chat's AI summaries spent this day (sent and received), against <c>Ai:MaxTokensPerChatPerDay</c>.</summary>
    public int AiTokens { get; set; }
}

internal sealed class ChatDailyUsageConfiguration : IEntityTypeConfiguration<ChatDailyUsage>
{
    public void Configure(EntityTypeBuilder<ChatDailyUsage> b)
    {
        b.ToTable("chat_daily_usage");
        b.HasKey(x => new { x.ChatId, x.Day });
    }
}

/// <summary>Where a chat's last /summary ended: the next one without a period starts there (at most a day back).</summary>
internal sealed class ChatSummaryState
{
    public long ChatId { get; set; }
    public DateTimeOffset LastSummaryTo { get; set; }
}

internal sealed class ChatSummaryStateConfiguration : IEntityTypeConfiguration<ChatSummaryState>
{
    public void Configure(EntityTypeBuilder<ChatSummaryState> b)
    {
        b.ToTable("chat_summary_state");
        b.HasKey(x => x.ChatId);
        b.Property(x => x.ChatId).ValueGeneratedNever();
    }
}

/// <summary>
/// A batch of updates received and made durable but not yet recorded: the poller confirms a batch once it is here, and
/// the inbox processor turns it into rows, deleting it in the same transaction. One row per getUpdates batch keeps the
/// write that the poller waits for small: one tuple, one index entry, a compressed payload.
/// </summary>
internal sealed class InboxBatch
{
    public long Id { get; set; }
    /// <summary>
    /// The lowest update_id in the row: rows are recorded in this order. A long-poll batch is one row; concurrent
    /// webhook deliveries share rows. A replay may be stored again: recording absorbs it by the updates' own keys.
    /// </summary>
    public long FirstUpdateId { get; set; }
    public long LastUpdateId { get; set; }
    public int UpdateCount { get; set; }
    /// <summary>The updates as a JSON array, each exactly as Telegram sent it.</summary>
    public required byte[] Payload { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}

internal sealed class InboxBatchConfiguration : IEntityTypeConfiguration<InboxBatch>
{
    public void Configure(EntityTypeBuilder<InboxBatch> b)
    {
        b.ToTable("update_inbox");
        b.HasKey(x => x.Id);
        b.Property(x => x.Id).UseIdentityAlwaysColumn();
        b.HasIndex(x => new { x.FirstUpdateId, x.Id });
    }
}

/// <summary>
/// An update that needed an answer and was handed to a handler: a batch replayed after a crash, or a webhook delivery
/// Telegram retried, is recorded again harmlessly but answered once. Kept two days (Telegram keeps updates for one).
/// </summary>
internal sealed class HandledUpdate
{
    public long UpdateId { get; set; }
    public DateTimeOffset HandledAt { get; set; }

    /// <summary>The chat it was asked in: with several bot instances, a chat's next answer waits for this one (Scaling.ChatOrder).</summary>
    public long? ChatId { get; set; }

    /// <summary>When its handler finished; null while it is waiting or running.</summary>
    public DateTimeOffset? FinishedAt { get; set; }
}

internal sealed class HandledUpdateConfiguration : IEntityTypeConfiguration<HandledUpdate>
{
    public void Configure(EntityTypeBuilder<HandledUpdate> b)
    {
        b.ToTable("handled_updates");
        b.HasKey(x => x.UpdateId);
        b.Property(x => x.UpdateId).ValueGeneratedNever();
        b.HasIndex(x => x.HandledAt);
        // Only answers not yet finished: the few a chat's next answer may have to wait for.
        b.HasIndex(x => new { x.ChatId, x.UpdateId }).HasFilter("finished_at IS NULL").HasDatabaseName("ix_handled_updates_unfinished");
    }
}

/// <summary>
/// A report asked for and not yet delivered (see Reports.ReportRequests): one per chat and period; at most one per chat
/// running (<see cref="StartedAt"/> set), enforced by a unique index over the running ones.
/// </summary>
internal sealed class ReportRequest
{
    public long ChatId { get; set; }
    public required string Period { get; set; }
    /// <summary>The Hangfire job that prepares it.</summary>
    public string? JobId { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
}

internal sealed class ReportRequestConfiguration : IEntityTypeConfiguration<ReportRequest>
{
    public void Configure(EntityTypeBuilder<ReportRequest> b)
    {
        b.ToTable("report_requests");
        b.HasKey(x => new { x.ChatId, x.Period });
        b.HasIndex(x => x.ChatId).IsUnique().HasFilter("started_at IS NOT NULL").HasDatabaseName("ix_report_requests_one_running");
    }
}

/// <summary>An ASP.NET Core data-protection key (Web.DataProtectionKeys), shared by every web process.</summary>
internal sealed class DataProtectionKey
{
    public int Id { get; set; }
    public string? FriendlyName { get; set; }
    public required string Xml { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class DataProtectionKeyConfiguration : IEntityTypeConfiguration<DataProtectionKey>
{
    public void Configure(EntityTypeBuilder<DataProtectionKey> b)
    {
        b.ToTable("data_protection_keys");
        b.HasKey(x => x.Id);
    }
}
