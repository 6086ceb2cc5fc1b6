namespace ChatStats.Bot.Ingest;

internal readonly record struct ChatRow(long Id, string Type, string? Title, string? Username, bool IsForum, DateTime SeenAt);

internal readonly record struct UserRow(long Id, bool IsBot, string FirstName, string? LastName, string? Username, string? LanguageCode, DateTime SeenAt);

internal readonly record struct MessageRow(
    long ChatId, int MessageId, long? SenderUserId, long? SenderChatId, DateTime SentAt, short Kind, string? Text,
    int CharCount, int WordCount, int? ReplyToMessageId, long? ReplyToUserId, bool IsForwarded, int? ThreadId,
    DateTime? EditedAt, bool Counted, bool IsEdit);

internal readonly record struct EventRow(long ChatId, int MessageId, short Seq, short Kind, long? UserId, long? TargetUserId, string? Data, DateTime OccurredAt);

internal readonly record struct MigrationRow(long FromChatId, long ToChatId);

internal readonly record struct BotStatusRow(long ChatId, string Status, DateTime At);

internal readonly record struct DeadLetterRow(long? UpdateId, long? ChatId, string Payload, string Error, DateTime FailedAt);

/// <summary>The rows one batch of updates turns into, written in one transaction.</summary>
internal sealed class IngestBatch
{
    public List<ChatRow> Chats { get; } = [];
    public List<UserRow> Users { get; } = [];
    public List<MessageRow> Messages { get; } = [];
    public List<EventRow> Events { get; } = [];
    public List<MigrationRow> Migrations { get; } = [];
    public List<BotStatusRow> BotStatuses { get; } = [];
    public List<DeadLetterRow> DeadLetters { get; } = [];

    public bool IsEmpty => Chats.Count + Users.Count + Messages.Count + Events.Count + Migrations.Count + BotStatuses.Count + DeadLetters.Count == 0;

    public void AddFrom(IngestBatch other)
    {
        Chats.AddRange(other.Chats);
        Users.AddRange(other.Users);
        Messages.AddRange(other.Messages);
        Events.AddRange(other.Events);
        Migrations.AddRange(other.Migrations);
        BotStatuses.AddRange(other.BotStatuses);
        DeadLetters.AddRange(other.DeadLetters);
    }

    /// <summary>Where the lists end now, to <see cref="Rewind"/> to if what is being added turns out unusable.</summary>
    public (int Chats, int Users, int Messages, int Events) Mark() => (Chats.Count, Users.Count, Messages.Count, Events.Count);

    public void Rewind((int Chats, int Users, int Messages, int Events) mark)
    {
        Chats.RemoveRange(mark.Chats, Chats.Count - mark.Chats);
        Users.RemoveRange(mark.Users, Users.Count - mark.Users);
        Messages.RemoveRange(mark.Messages, Messages.Count - mark.Messages);
        Events.RemoveRange(mark.Events, Events.Count - mark.Events);
    }

    public void Clear()
    {
        Chats.Clear();
        Users.Clear();
        Messages.Clear();
        Events.Clear();
        Migrations.Clear();
        BotStatuses.Clear();
        DeadLetters.Clear();
    }
}
