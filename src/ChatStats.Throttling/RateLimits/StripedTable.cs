namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// Per-key state behind 32 locks, one per stripe. The hot path and the sweep take the same stripe lock, so eviction
/// can never race a check; a stripe that empties gives its memory back (a concurrent dictionary never shrinks).
/// </summary>
internal sealed class StripedTable<TKey, TState> where TKey : notnull
{
    private const int Stripes = 32;
    private readonly Stripe[] _stripes = [.. Enumerable.Range(0, Stripes).Select(_ => new Stripe())];

    private sealed class Stripe
    {
        public readonly Lock Lock = new();
        public Dictionary<TKey, TState> Entries = [];
        public int Peak;
    }

    public int Count => _stripes.Sum(s =>
    {
        lock (s.Lock)
        {
            return s.Entries.Count;
        }
    });

    /// <summary>Runs <paramref name="use"/> on the key's state (created by <paramref name="create"/> if absent) under its stripe's lock.</summary>
    public TResult With<TArg, TResult>(TKey key, TArg arg, Func<TKey, TArg, TState> create, Func<TState, TArg, TResult> use)
    {
        var stripe = _stripes[(key.GetHashCode() & int.MaxValue) % Stripes];
        lock (stripe.Lock)
        {
            if (!stripe.Entries.TryGetValue(key, out var state))
            {
                state = create(key, arg);
                stripe.Entries[key] = state;
                stripe.Peak = Math.Max(stripe.Peak, stripe.Entries.Count);
            }
            return use(state, arg);
        }
    }

    /// <summary>Runs <paramref name="use"/> on the key's state if there is one.</summary>
    public bool TryWith<TResult>(TKey key, Func<TState, TResult> use, out TResult result)
    {
        var stripe = _stripes[(key.GetHashCode() & int.MaxValue) % Stripes];
        lock (stripe.Lock)
        {
            if (stripe.Entries.TryGetValue(key, out var state))
            {
                result = use(state);
                return true;
            }
        }
        result = default!;
        return false;
    }

    /// <summary>Removes every entry <paramref name="idle"/> says is idle; returns how many.</summary>
    public int RemoveWhere(Func<TState, bool> idle)
    {
        var removed = 0;
        foreach (var stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                foreach (var (key, state) in stripe.Entries)
                {
                    if (idle(state))
                    {
                        stripe.Entries.Remove(key);
                        removed++;
                    }
                }
                if (stripe.Entries.Count < stripe.Peak / 4)
                {
                    stripe.Entries = new Dictionary<TKey, TState>(stripe.Entries);
                    stripe.Peak = stripe.Entries.Count;
                }
            }
        }
        return removed;
    }
}
