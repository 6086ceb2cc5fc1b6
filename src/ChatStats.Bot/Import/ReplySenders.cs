namespace ChatStats.Bot.Import;

/// <summary>
/// Who sent each message of the chat being imported, so that a reply can name whom it answers as it is read: an export
/// gives only the replied-to message's id. Four bytes per message id, in pages allocated as ids are met (a 10-million
/// message chat costs 40 MB); senders are numbered, since a chat has far fewer members than messages.
/// </summary>
internal sealed class ReplySenders
{
    private const int PageBits = 16;
    private const int NoSender = -1;

    private readonly Dictionary<int, int[]> _pages = [];
    private readonly Dictionary<long, int> _numbers = [];
    private readonly List<long> _users = [];

    /// <summary>Message ids met whose replies could not be resolved here: answered from the database once the chat is in.</summary>
    public List<int> Unresolved { get; } = [];

    public void Record(int messageId, long? userId)
    {
        if (messageId <= 0)
        {
            return;
        }
        var value = NoSender;
        if (userId is { } user)
        {
            if (!_numbers.TryGetValue(user, out value))
            {
                _users.Add(user);
                value = _users.Count;
                _numbers[user] = value;
            }
        }
        if (!_pages.TryGetValue(messageId >> PageBits, out var page))
        {
            page = new int[1 << PageBits];
            _pages[messageId >> PageBits] = page;
        }
        page[messageId & ((1 << PageBits) - 1)] = value;
    }

    /// <summary>
    /// The sender of <paramref name="repliedTo"/>, or null: a message read earlier with no person behind it (a channel
    /// post, a service action) is known to have none; one never read (before the export began) goes to
    /// <see cref="Unresolved"/> with the reply's id.
    /// </summary>
    public long? SenderOf(int repliedTo, int replyId)
    {
        var value = repliedTo > 0 && _pages.TryGetValue(repliedTo >> PageBits, out var page) ? page[repliedTo & ((1 << PageBits) - 1)] : 0;
        switch (value)
        {
            case 0:
                Unresolved.Add(replyId);
                return null;
            case NoSender:
                return null;
            default:
                return _users[value - 1];
        }
    }
}
