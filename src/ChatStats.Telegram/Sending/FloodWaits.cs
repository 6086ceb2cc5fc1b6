using System.Collections.Concurrent;

namespace ChatStats.Telegram.Sending;

/// <summary>What Telegram said about a chat: how long nothing may go to it, and how many units a send to it costs.</summary>
public readonly record struct FloodState(TimeSpan Held, int Cost)
{
    public static FloodState Clear { get; } = new(TimeSpan.Zero, 1);
}

/// <summary>
/// The chats Telegram answered 429: each is held for its retry_after, and its sends cost double (up to a ceiling) until
/// it has been quiet a while. In process by default (<see cref="LocalFloodWaits"/>); a deployment of several processes
/// shares them, so no process sends to a chat that another was told to leave alone.
/// </summary>
public interface IFloodWaits
{
    ValueTask<FloodState> CurrentAsync(long chatId);

    /// <summary>Telegram said 429 for this chat: hold it for <paramref name="retryAfter"/> and charge its sends more.</summary>
    ValueTask<FloodState> StrikeAsync(long chatId, TimeSpan retryAfter);

    /// <summary>Chats this process knows to be held or charged extra.</summary>
    int Count { get; }
}

/// <summary>Flood waits in this process, on its monotonic clock (a wall-clock jump changes nothing).</summary>
public sealed class LocalFloodWaits(int maxPenalty, TimeSpan relaxAfter, TimeProvider time) : IFloodWaits
{
    // Held until a timestamp, and how much a send costs there until it has been quiet since its last 429 (LastStrike) for a while.
    private readonly record struct Penalty(long HeldUntil, int Cost, long LastStrike);
    private readonly ConcurrentDictionary<long, Penalty> _penalties = new();

    public int Count => _penalties.Count;

    public ValueTask<FloodState> CurrentAsync(long chatId) => ValueTask.FromResult(Current(chatId));

    /// <summary>The chat's penalty now, relaxed by a step for every quiet stretch since its last 429.</summary>
    public FloodState Current(long chatId)
    {
        if (!_penalties.TryGetValue(chatId, out var penalty))
        {
            return FloodState.Clear;
        }
        var now = time.GetTimestamp();
        var relaxed = penalty;
        while (relaxed.Cost > 1 && time.GetElapsedTime(relaxed.LastStrike, now) >= relaxAfter)
        {
            relaxed = relaxed with { Cost = relaxed.Cost / 2, LastStrike = relaxed.LastStrike + (long)(relaxAfter.TotalSeconds * time.TimestampFrequency) };
        }
        if (relaxed.Cost == 1 && Remaining(relaxed.HeldUntil) == TimeSpan.Zero)
        {
            // Forgiven: only removed if nothing changed it meanwhile.
            _penalties.TryRemove(new KeyValuePair<long, Penalty>(chatId, penalty));
            return FloodState.Clear;
        }
        if (relaxed != penalty)
        {
            _penalties.TryUpdate(chatId, relaxed, penalty);
        }
        return new FloodState(Remaining(relaxed.HeldUntil), relaxed.Cost);
    }

    public ValueTask<FloodState> StrikeAsync(long chatId, TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        // retry_after is Telegram's to choose; a value beyond what a timestamp can hold is held as long as it can be.
        var ticks = retryAfter.TotalSeconds * time.TimestampFrequency;
        var until = ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
        _penalties.AddOrUpdate(chatId,
            _ => new Penalty(until, Math.Min(2, maxPenalty), now),
            (_, p) => new Penalty(Math.Max(p.HeldUntil, until), Math.Min(p.Cost * 2, maxPenalty), now));
        return ValueTask.FromResult(Current(chatId));
    }

    /// <summary>How long until <paramref name="until"/>: never negative.</summary>
    private TimeSpan Remaining(long until)
    {
        var now = time.GetTimestamp();
        return until <= now ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min((double)(until - now) / time.TimestampFrequency, TimeSpan.MaxValue.TotalSeconds - 1));
    }
}
