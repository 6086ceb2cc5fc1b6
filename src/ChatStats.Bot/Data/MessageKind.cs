namespace ChatStats.Bot.Data;

/// <summary>What a message carries, as the statistics count it. The numbers are stored; never renumber.</summary>
internal enum MessageKind : short
{
    Text = 0,
    Photo = 1,
    Sticker = 2,
    Voice = 3,
    Video = 4,
    VideoNote = 5,
    Audio = 6,
    Document = 7,
    Animation = 8,
    Poll = 9,
    Location = 10,
    Contact = 11,
    Dice = 12,
    Other = 13,
}

/// <summary>The kinds as the rollups store them: one <c>&lt;kind&gt;_count</c> column each, and which of them are media.</summary>
internal static class MessageKinds
{
    public static readonly IReadOnlyList<MessageKind> All = Enum.GetValues<MessageKind>();

    /// <summary>Photos, stickers, voice, video, round videos, audio, files and GIFs: what /stats and /top call media.</summary>
    public static readonly IReadOnlyList<MessageKind> Media =
        [MessageKind.Photo, MessageKind.Sticker, MessageKind.Voice, MessageKind.Video, MessageKind.VideoNote, MessageKind.Audio, MessageKind.Document, MessageKind.Animation];

    /// <summary>The rollup columns, in the kinds' order: text_count, photo_count, …, video_note_count, …</summary>
    public static readonly IReadOnlyList<string> Columns = [.. All.Select(Column)];

    /// <summary>SQL: the media columns added up ("photo_count + sticker_count + …").</summary>
    public static readonly string MediaSum = string.Join(" + ", Media.Select(Column));

    public static string Column(MessageKind kind) => ChatStatsDbContext.SnakeCase(kind.ToString()) + "_count";
}
