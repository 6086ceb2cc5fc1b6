using ChatStats.Telegram.Sending;
using ChatStats.Throttling.Shared;
using StackExchange.Redis;

namespace ChatStats.Bot.Scaling;

/// <summary>
/// Telegram's flood waits shared by every instance through Redis: a 429 one process drew holds the chat for all of them
/// (the stand-in run that prompted this saw 199 sends inside a retry_after window from processes that each knew only
/// their own). Every strike is also kept in process, so while Redis is away each process still honours what it saw.
/// </summary>
internal sealed class RedisFloodWaits(SharedStore store, LocalFloodWaits local, int maxPenalty, TimeSpan relaxAfter, TimeProvider time) : IFloodWaits
{
    private const string Name = "flood";

    // KEYS[1]: the chat's hash {held (ms since epoch), cost, last (ms of the last 429)}. ARGV: now, retry_after (ms), max cost, relax (ms).
    // The cost is relaxed (halved per quiet stretch) before it is doubled, as in process. Returns {held until, cost}.
    private const string StrikeScript = """
        local now = tonumber(ARGV[1])
        local relax = tonumber(ARGV[4])
        local held = tonumber(redis.call('HGET', KEYS[1], 'held') or 0)
        local cost = tonumber(redis.call('HGET', KEYS[1], 'cost') or 1)
        local last = tonumber(redis.call('HGET', KEYS[1], 'last') or now)
        local steps = math.floor(math.max(0, now - last) / relax)
        while steps > 0 and cost > 1 do
          cost = math.floor(cost / 2)
          steps = steps - 1
        end
        cost = math.min(math.max(cost, 1) * 2, tonumber(ARGV[3]))
        held = math.max(held, now + tonumber(ARGV[2]))
        redis.call('HSET', KEYS[1], 'held', held, 'cost', cost, 'last', now)
        redis.call('PEXPIRE', KEYS[1], (held - now) + relax * 8 + 1000)
        return {held, cost}
        """;

    public int Count => local.Count;

    public async ValueTask<FloodState> CurrentAsync(long chatId)
    {
        if (!store.IsAvailable)
        {
            return local.Current(chatId);
        }
        var result = await store.EvaluateAsync("return redis.call('HMGET', KEYS[1], 'held', 'cost', 'last')", [Key(chatId)], []);
        if (result is null)
        {
            return local.Current(chatId);
        }
        var values = (RedisResult[])result!;
        if (values[0].IsNull)
        {
            return FloodState.Clear;
        }
        return State(now: time.GetUtcNow().ToUnixTimeMilliseconds(), held: (long)values[0], cost: (int)values[1], last: (long)values[2]);
    }

    public async ValueTask<FloodState> StrikeAsync(long chatId, TimeSpan retryAfter)
    {
        var mine = await local.StrikeAsync(chatId, retryAfter);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var result = await store.EvaluateAsync(StrikeScript, [Key(chatId)],
            [now, (long)Math.Min(retryAfter.TotalMilliseconds, TimeSpan.FromDays(30).TotalMilliseconds), maxPenalty, (long)relaxAfter.TotalMilliseconds]);
        if (result is null)
        {
            return mine;
        }
        var values = (RedisResult[])result!;
        return State(now, (long)values[0], (int)values[1], now);
    }

    private FloodState State(long now, long held, int cost, long last)
    {
        var steps = Math.Max(0, now - last) / Math.Max(1, (long)relaxAfter.TotalMilliseconds);
        for (; steps > 0 && cost > 1; steps--)
        {
            cost /= 2;
        }
        return new FloodState(TimeSpan.FromMilliseconds(Math.Max(0, held - now)), Math.Max(1, cost));
    }

    private RedisKey Key(long chatId) => store.Key(Name, chatId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
