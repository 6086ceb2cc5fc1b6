namespace ChatStats.Testing;

/// <summary>A clock that moves only when a test says so; timers fire in due order as <see cref="Advance"/> passes them.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    // Ordered by due time, then creation order, so advancing is O(log n) per timer even with thousands pending.
    private readonly SortedSet<(DateTimeOffset Due, long Id)> _due = [];
    private readonly Dictionary<long, ManualTimer> _timers = [];
    private DateTimeOffset _now = start;
    private long _ids;

    public ManualTimeProvider() : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <summary>Timers waiting to fire, so a test can wait until code under test has started waiting.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _due.Count;
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ManualTimer timer;
        lock (_lock)
        {
            timer = new ManualTimer(this, ++_ids, callback, state);
            _timers[timer.Id] = timer;
        }
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_lock)
        {
            target = _now + by;
        }
        while (true)
        {
            ManualTimer timer;
            lock (_lock)
            {
                if (_due.Count == 0 || _due.Min.Due > target)
                {
                    _now = target;
                    return;
                }
                var (due, id) = _due.Min;
                _due.Remove(_due.Min);
                timer = _timers[id];
                _now = due > _now ? due : _now;
                timer.Due = null;
                if (timer.Period is { } period && period > TimeSpan.Zero)
                {
                    Schedule(timer, _now + period);
                }
            }
            // Outside the lock: callbacks create, change and dispose timers.
            timer.Fire();
        }
    }

    private void Schedule(ManualTimer timer, DateTimeOffset due)
    {
        timer.Due = due;
        _due.Add((due, timer.Id));
    }

    private sealed class ManualTimer(ManualTimeProvider owner, long id, TimerCallback callback, object? state) : ITimer
    {
        public long Id { get; } = id;
        public DateTimeOffset? Due { get; set; }
        public TimeSpan? Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                if (!owner._timers.ContainsKey(Id))
                {
                    return false;
                }
                if (Due is { } old)
                {
                    owner._due.Remove((old, Id));
                    Due = null;
                }
                Period = period == Timeout.InfiniteTimeSpan ? null : period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    owner.Schedule(this, owner._now + dueTime);
                }
            }
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._lock)
            {
                if (Due is { } old)
                {
                    owner._due.Remove((old, Id));
                    Due = null;
                }
                owner._timers.Remove(Id);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
