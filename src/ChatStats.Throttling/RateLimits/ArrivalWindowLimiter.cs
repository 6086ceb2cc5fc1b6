using System.Threading.RateLimiting;
using ChatStats.Throttling.Concurrency;

namespace ChatStats.Throttling.RateLimits;

/// <summary>
/// At most <see cref="SlidingWindowOptions.PermitLimit"/> per key in any window of <see cref="SlidingWindowOptions.Window"/>,
/// as counted by someone else on arrival: a remote API that stamps each request when it reaches it. A permit counts from
/// the moment it is taken, and its window starts only when its lease is disposed, once the answer is in. The far end
/// stamped the request somewhere between those two moments, so however the network delays or reorders requests, no
/// window at the far end ever holds more than the limit. A limiter that stamps permits when they
/// are granted (as <see cref="SlidingWindowLimiter{TKey}"/> does) is exact only at our end: a request delayed on the way
/// can land within a window of a later one that was not.
/// <para>So a lease must be held while its request is on its way, and disposed when the answer is in (or the request
/// failed in a way that may have reached the far end).</para>
/// <para>A permit may cost several units (a key whose limit proved too generous can be charged double); keys with nothing
/// in flight and nothing left in the window are evicted by a periodic sweep.</para>
/// </summary>
public sealed class ArrivalWindowLimiter<TKey> : PartitionedRateLimiter<TKey> where TKey : notnull
{
    /// <summary>Longest single wait handed to a timer; longer waits are taken in steps (a timer cannot take any length).</summary>
    internal static readonly TimeSpan MaxStep = TimeSpan.FromHours(1);

    private readonly StripedTable<TKey, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private readonly ITimer _sweeper;

    public ArrivalWindowLimiter(string name, SlidingWindowOptions options, TimeProvider time, TimeSpan? sweepInterval = null)
    {
        options.Validate(name);
        Name = name;
        PermitLimit = options.PermitLimit;
        Window = options.Window;
        _time = time;
        _windowTicks = (long)(options.Window.TotalSeconds * time.TimestampFrequency);
        var interval = sweepInterval ?? TimeSpan.FromSeconds(Math.Clamp(options.Window.TotalSeconds / 4, 1, 15));
        _sweeper = time.CreateTimer(_ => Sweep(), null, interval, interval);
    }

    public string Name { get; }
    public int PermitLimit { get; }
    public TimeSpan Window { get; }

    /// <summary>Keys currently tracked.</summary>
    public int Count => _entries.Count;

    private sealed class Entry(int limit)
    {
        /// <summary>When given-back units left the far end's hands, oldest first (a ring of at most the limit).</summary>
        public readonly long[] Done = new long[limit];
        public int Head;
        public int DoneCount;
        public int InFlight;
        /// <summary>Completed when units come back; waiters that need them (nothing in the window to expire) wait on it.</summary>
        public TaskCompletionSource? Returned;
    }

    /// <summary>
    /// Takes <paramref name="cost"/> units for <paramref name="key"/> when the window has room. When it has not,
    /// <paramref name="retryAfter"/> says when enough will have left the window, or is null when that depends on permits
    /// still in flight coming back.
    /// </summary>
    public RateLimitLease? TryAcquire(TKey key, int cost, out TimeSpan? retryAfter) => TryAcquire(key, cost, out retryAfter, out _);

    private RateLimitLease? TryAcquire(TKey key, int cost, out TimeSpan? retryAfter, out Task? returned)
    {
        // No units asks whether there is room, as PartitionedRateLimiter allows; more than the limit could never be had.
        cost = Math.Clamp(cost, 0, PermitLimit);
        var (granted, wait, back) = _entries.With(key, (this, cost), static (_, a) => new Entry(a.Item1.PermitLimit), static (entry, a) => a.Item1.TryTake(entry, a.cost));
        ThrottlingMetrics.Decision(Name, granted);
        (retryAfter, returned) = (wait, back);
        return !granted ? null : cost == 0 ? Leases.Acquired : new ReturningLease(() => Return(key, cost));
    }

    protected override RateLimitLease AttemptAcquireCore(TKey resource, int permitCount) =>
        TryAcquire(resource, permitCount, out var retryAfter) ?? new Leases.Refused(retryAfter ?? TimeSpan.Zero);

    /// <summary>Waits on the limiter's clock until <paramref name="permitCount"/> units are free (at most the limit), then takes them.</summary>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TKey resource, int permitCount, CancellationToken cancellationToken)
    {
        if (TryAcquire(resource, permitCount, out var retryAfter, out var returned) is { } permit)
        {
            return ValueTask.FromResult(permit);
        }
        // The flow ends with the caller's wait, not before it: granted, the waiter no longer counts as parked (the wait
        // that woke it has finished) until the task its caller awaits has finished too.
        var flow = Parked.Begin();
        var waiting = WaitAsync(resource, permitCount, retryAfter, returned, flow, cancellationToken);
        waiting.ContinueWith(static (_, flow) => ((ParkedWaits.Flow)flow!).Dispose(), flow, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new ValueTask<RateLimitLease>(waiting);
    }

    private async Task<RateLimitLease> WaitAsync(TKey key, int cost, TimeSpan? retryAfter, Task? returned, ParkedWaits.Flow flow, CancellationToken ct)
    {
        while (true)
        {
            var wait = returned ?? Task.Delay(Clamp(retryAfter ?? TimeSpan.Zero), _time, ct);
            try
            {
                // Parked on the wait itself too: a return completes it at once, while the step's wrapper finishes later.
                await flow.On(wait.WaitAsync(MaxStep, _time, ct), alsoOn: wait).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Nothing came back within a step: look again.
            }
            if (TryAcquire(key, cost, out retryAfter, out returned) is { } permit)
            {
                return permit;
            }
        }
    }

    /// <summary>The callers waiting for units, for a test that moves the clock only when all are parked.</summary>
    internal ParkedWaits Parked { get; } = new();

    /// <summary>A wait a timer accepts: never negative, never longer than <see cref="MaxStep"/>.</summary>
    private static TimeSpan Clamp(TimeSpan wait) => wait <= TimeSpan.Zero ? TimeSpan.Zero : wait > MaxStep ? MaxStep : wait;

    /// <summary>Granted; or when the window will have room; or, when that waits on units in flight, a task for their return.</summary>
    private (bool, TimeSpan?, Task?) TryTake(Entry entry, int cost)
    {
        var now = _time.GetTimestamp();
        Expire(entry, now);
        var over = entry.InFlight + entry.DoneCount + cost - PermitLimit;
        if (over <= 0)
        {
            entry.InFlight += cost;
            return (true, null, null);
        }
        if (over > entry.DoneCount)
        {
            // Even with the whole window expired there would be too many in flight: wait for some to come back. Made
            // under the entry's lock, so a return that happens next cannot be missed.
            entry.Returned ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return (false, null, entry.Returned.Task);
        }
        var leaves = entry.Done[(entry.Head + over - 1) % PermitLimit] + _windowTicks;
        return (false, leaves <= now ? TimeSpan.Zero : _time.GetElapsedTime(now, leaves), null);
    }

    /// <summary>The answer is in: the units leave flight and their window starts now.</summary>
    private void Return(TKey key, int cost)
    {
        var returned = _entries.With(key, (this, cost), static (_, a) => new Entry(a.Item1.PermitLimit), static (entry, a) =>
        {
            var now = a.Item1._time.GetTimestamp();
            entry.InFlight = Math.Max(0, entry.InFlight - a.cost);
            a.Item1.Expire(entry, now);
            for (var i = 0; i < a.cost && entry.DoneCount < a.Item1.PermitLimit; i++)
            {
                entry.Done[(entry.Head + entry.DoneCount) % a.Item1.PermitLimit] = now;
                entry.DoneCount++;
            }
            var waiters = entry.Returned;
            entry.Returned = null;
            return waiters;
        });
        returned?.TrySetResult();
    }

    /// <summary>Evicts keys with nothing in flight and nothing left in the window; returns how many.</summary>
    public int Sweep() => _entries.RemoveWhere(entry =>
    {
        Expire(entry, _time.GetTimestamp());
        return entry.InFlight == 0 && entry.DoneCount == 0;
    });

    private void Expire(Entry entry, long now)
    {
        while (entry.DoneCount > 0 && now - entry.Done[entry.Head] >= _windowTicks)
        {
            entry.Head = (entry.Head + 1) % PermitLimit;
            entry.DoneCount--;
        }
    }

    public override RateLimiterStatistics? GetStatistics(TKey resource)
    {
        _entries.TryWith(resource, entry =>
        {
            Expire(entry, _time.GetTimestamp());
            return entry.InFlight + entry.DoneCount;
        }, out var used);
        return new RateLimiterStatistics { CurrentAvailablePermits = PermitLimit - used, CurrentQueuedCount = 0 };
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sweeper.Dispose();
        }
        base.Dispose(disposing);
    }
}
