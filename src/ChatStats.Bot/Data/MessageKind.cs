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
