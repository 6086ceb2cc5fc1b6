namespace ChatStats.Throttling.Concurrency;

/// <summary>
/// What each caller of a component is waiting for, so that whoever drives the component's clock by hand can tell when
/// all of them are parked on something that has not happened yet, and only then move the clock on. Each caller is a
/// <see cref="Flow"/>: begun when it starts, told every wait it parks on, disposed when it is done.
/// <para>A flow counts as parked while the last wait it was told of is unfinished. The moment that wait finishes it no
/// longer counts, even before its continuation has run, and it does not count again until it parks on a new wait; a
/// flow that is working (deciding, or on the network) never counts. So <see cref="AllParked"/> is never true while any
/// flow could still move without the clock moving — unlike looking at timers or queue lengths, which cannot see a
/// waiter that was woken and has not yet parked again.</para>
/// <para>Costs a lock per flow begun and ended and a write per wait; kept in production, where it is not read.</para>
/// </summary>
public sealed class ParkedWaits
{
    private readonly Lock _lock = new();
    private readonly HashSet<Flow> _flows = [];

    /// <summary>Flows begun and not yet disposed.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _flows.Count;
            }
        }
    }

    /// <summary>True when every flow is parked on an unfinished wait (and when there are none).</summary>
    public bool AllParked
    {
        get
        {
            lock (_lock)
            {
                return _flows.All(flow => flow.Parked);
            }
        }
    }

    public Flow Begin()
    {
        var flow = new Flow(this);
        lock (_lock)
        {
            _flows.Add(flow);
        }
        return flow;
    }

    /// <summary>One caller's way through the component.</summary>
    public sealed class Flow : IDisposable
    {
        private readonly ParkedWaits _owner;
        private Task? _on;
        private Task? _alsoOn;

        internal Flow(ParkedWaits owner) => _owner = owner;

        /// <summary>Parked on neither wait finished (a wait wrapped in a timeout finishes apart from what it wraps).</summary>
        internal bool Parked => Volatile.Read(ref _on) is { IsCompleted: false } && Volatile.Read(ref _alsoOn) is null or { IsCompleted: false };

        /// <summary>Parks on <paramref name="wait"/> (and on <paramref name="alsoOn"/>, when the wait awaited is made of two); returns the wait to await.</summary>
        public T On<T>(T wait, Task? alsoOn = null) where T : Task
        {
            // The second first: a reader that sees the new wait must not pair it with the old second one.
            Volatile.Write(ref _alsoOn, alsoOn);
            Volatile.Write(ref _on, wait);
            return wait;
        }

        public void Dispose()
        {
            lock (_owner._lock)
            {
                _owner._flows.Remove(this);
            }
        }
    }
}
