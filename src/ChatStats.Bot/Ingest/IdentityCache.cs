namespace ChatStats.Bot.Ingest;

/// <summary>
/// What the processor last wrote for each user and chat, so unchanged ones are not sent again: even a no-op upsert
/// locks the row, which costs a heap write and WAL. Only the processor writes these rows, so the cache is exact except
/// after a replay of older names, which the next newer sighting corrects. Bounded: cleared when it grows past its cap.
/// </summary>
internal sealed class IdentityCache(int capacity = 200_000)
{
    private readonly Dictionary<long, (bool, string, string?, string?, string?)> _users = [];
    private readonly Dictionary<long, (string, string?, string?, bool)> _chats = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _users.Count + _chats.Count;
            }
        }
    }

    /// <summary>Removes rows whose latest state in the batch is what was last written.</summary>
    public void RemoveUnchanged(IngestBatch batch)
    {
        lock (_lock)
        {
            var latestUser = Latest(batch.Users, u => u.Id, u => u.SeenAt);
            batch.Users.RemoveAll(u => _users.TryGetValue(u.Id, out var known) && known == State(latestUser[u.Id]));
            var latestChat = Latest(batch.Chats, c => c.Id, c => c.SeenAt);
            batch.Chats.RemoveAll(c => _chats.TryGetValue(c.Id, out var known) && known == State(latestChat[c.Id]));
        }
    }

    /// <summary>Records what a committed batch wrote.</summary>
    public void Remember(IngestBatch batch)
    {
        lock (_lock)
        {
            if (_users.Count + _chats.Count > capacity)
            {
                _users.Clear();
                _chats.Clear();
            }
            foreach (var (id, user) in Latest(batch.Users, u => u.Id, u => u.SeenAt))
            {
                _users[id] = State(user);
            }
            foreach (var (id, chat) in Latest(batch.Chats, c => c.Id, c => c.SeenAt))
            {
                _chats[id] = State(chat);
            }
        }
    }

    /// <summary>Forgets everything, for when a write may not have happened as assumed.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _users.Clear();
            _chats.Clear();
        }
    }

    private static Dictionary<long, T> Latest<T>(List<T> rows, Func<T, long> id, Func<T, DateTime> at)
    {
        var latest = new Dictionary<long, T>(rows.Count);
        foreach (var row in rows)
        {
            if (!latest.TryGetValue(id(row), out var seen) || at(row) >= at(seen))
            {
                latest[id(row)] = row;
            }
        }
        return latest;
    }

    private static (bool, string, string?, string?, string?) State(UserRow u) => (u.IsBot, u.FirstName, u.LastName, u.Username, u.LanguageCode);

    private static (string, string?, string?, bool) State(ChatRow c) => (c.Type, c.Title, c.Username, c.IsForum);
}
