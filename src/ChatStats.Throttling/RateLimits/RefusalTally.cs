using System.Collections.Concurrent;

namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// Who is refused most: refusals per key over the last one to two windows (the current window and the one before),
/// for an operator's "most limited" list. Bounded: once <paramref name="maxKeys"/> keys are counted in a window, new
/// keys are not (a flood of distinct keys cannot grow it); keys already counted still are.
/// </summary>
public sealed class RefusalTally<TKey>(TimeSpan window, int maxKeys, TimeProvider time) where TKey : notnull
{
    private readonly Lock _rotate = new();
    private ConcurrentDictionary<TKey, int> _current = new();
    private ConcurrentDictionary<TKey, int> _previous = new();
    private DateTimeOffset _started = time.GetUtcNow();

    public void Add(TKey key)
    {
        var current = Rotate();
        if (current.Count < maxKeys || current.ContainsKey(key))
        {
            current.AddOrUpdate(key, 1, static (_, n) => n + 1);
        }
    }

    /// <summary>The <paramref name="count"/> keys refused most in the last one to two windows, most first.</summary>
    public IReadOnlyList<KeyValuePair<TKey, int>> Top(int count)
    {
        var current = Rotate();
        var totals = new Dictionary<TKey, int>(_previous);
        foreach (var (key, n) in current)
        {
            totals[key] = totals.GetValueOrDefault(key) + n;
        }
        return [.. totals.OrderByDescending(p => p.Value).Take(count)];
    }

    private ConcurrentDictionary<TKey, int> Rotate()
    {
        var now = time.GetUtcNow();
        if (now - _started < window)
        {
            return _current;
        }
        lock (_rotate)
        {
            if (now - _started >= window)
            {
                // More than two windows quiet: the previous window is empty too.
                _previous = now - _started >= window * 2 ? new() : _current;
                _current = new();
                _started = now;
            }
            return _current;
        }
    }
}
