namespace ChatStats.Throttling.Concurrency;

/// <summary>
/// Concurrency per user and overall, with bounded queues: <c>using var lease = await limiter.AcquireAsync(user, ct)</c>.
/// Waiters are served first come, first served among those whose user has a free slot; a queued request that is
/// cancelled, times out or is dropped gives its place back at once. Idle users leave no state behind.
/// </summary>
public sealed class ResourceLimiter<TKey> where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, UserState> _users = [];
    private readonly LinkedList<Waiter> _queue = [];
    private readonly TimeProvider _time;
    private int _globalActive;
    private int _globalQueued;

    public ResourceLimiter(string name, ResourceLimiterOptions options, TimeProvider time)
    {
        options.Validate(name);
        Name = name;
        Options = options;
        _time = time;
    }

    public string Name { get; }

    public ResourceLimiterOptions Options { get; private set; }

    private sealed class UserState
    {
        public int Active;
        public int Queued;
    }

    private sealed class Waiter(TKey key, long enqueuedAt)
    {
        public readonly TKey Key = key;
        public readonly long EnqueuedAt = enqueuedAt;
        public readonly TaskCompletionSource<Lease> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Waiter>? Node;
        public ITimer? Timeout;
        public CancellationTokenRegistration Cancellation;
    }

    /// <summary>Changes the concurrency limits in flight (load shedding halves a gate); queued waiters are served if room appears.</summary>
    public void Reconfigure(ResourceLimiterOptions options)
    {
        options.Validate(Name);
        lock (_lock)
        {
            Options = options;
            GrantWaiters();
        }
    }

    public ValueTask<Lease> AcquireAsync(TKey key, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        Waiter? dropped = null;
        Waiter waiter;
        lock (_lock)
        {
            var options = Options;
            var user = User(key);
            if (user.Active < options.MaxConcurrentPerUser && _globalActive < options.MaxConcurrentGlobal)
            {
                user.Active++;
                _globalActive++;
                return ValueTask.FromResult(new Lease(this, key));
            }
            if (options.Policy != OverloadPolicy.Block && (user.Queued >= options.MaxQueuePerUser || _globalQueued >= options.MaxQueueGlobal))
            {
                var userFull = user.Queued >= options.MaxQueuePerUser;
                if (options.Policy == OverloadPolicy.DropNewest || (userFull ? user.Queued == 0 : _queue.Count == 0))
                {
                    ForgetIfIdle(key, user);
                    throw Overload(userFull ? OverloadReason.UserQueueFull : OverloadReason.GlobalQueueFull, userFull ? user.Queued : _globalQueued);
                }
                dropped = userFull ? _queue.First(w => EqualityComparer<TKey>.Default.Equals(w.Key, key)) : _queue.First!.Value;
                Dequeue(dropped);
                // The dropped waiter may have been this user's last: its state can be gone, so look it up again.
                user = User(key);
            }
            waiter = new Waiter(key, _time.GetTimestamp());
            waiter.Node = _queue.AddLast(waiter);
            user.Queued++;
            _globalQueued++;
            // Both are set up under the lock, so a grant or timeout can never miss them. (The lock is re-entrant:
            // an already-cancelled token runs Cancel right here.)
            var state = new object[] { this, waiter };
            waiter.Timeout = _time.CreateTimer(static s => ((ResourceLimiter<TKey>)((object[])s!)[0]).Expire((Waiter)((object[])s)[1]),
                state, options.QueueTimeout, Timeout.InfiniteTimeSpan);
            if (ct.CanBeCanceled)
            {
                waiter.Cancellation = ct.Register(static s => ((ResourceLimiter<TKey>)((object[])s!)[0]).Cancel((Waiter)((object[])s)[1]), state);
            }
        }

        dropped?.Completion.TrySetException(Overload(OverloadReason.DroppedForNewer, Options.MaxQueueGlobal));
        return new ValueTask<Lease>(waiter.Completion.Task);
    }

    public ResourceLimiterStats GetStats()
    {
        lock (_lock)
        {
            var users = _users.Select(u => new UserLoad(u.Key.ToString() ?? "", u.Value.Active, u.Value.Queued)).ToList();
            return new ResourceLimiterStats(_globalActive, _globalQueued, users.Count, users, Options);
        }
    }

    private void Release(TKey key)
    {
        lock (_lock)
        {
            var user = _users[key];
            user.Active--;
            _globalActive--;
            ForgetIfIdle(key, user);
            GrantWaiters();
        }
    }

    /// <summary>Serves queued waiters, oldest first, skipping those whose user is at its own limit. Under the lock.</summary>
    private void GrantWaiters()
    {
        var options = Options;
        for (var node = _queue.First; node is not null && _globalActive < options.MaxConcurrentGlobal;)
        {
            var next = node.Next;
            var waiter = node.Value;
            var user = _users[waiter.Key];
            if (user.Active < options.MaxConcurrentPerUser)
            {
                // Counted active before leaving the line, so the user is not forgotten in between.
                user.Active++;
                _globalActive++;
                Dequeue(waiter);
                ThrottlingMetrics.QueueWait.Record(_time.GetElapsedTime(waiter.EnqueuedAt).TotalSeconds, new KeyValuePair<string, object?>("limiter", Name));
                if (!waiter.Completion.TrySetResult(new Lease(this, waiter.Key)))
                {
                    // Cannot happen (only the lock holder completes a queued waiter); keep the books straight regardless.
                    user.Active--;
                    _globalActive--;
                }
            }
            node = next;
        }
    }

    private void Expire(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                return;
            }
            Dequeue(waiter);
        }
        waiter.Completion.TrySetException(Overload(OverloadReason.QueueTimeout, 0));
    }

    private void Cancel(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                return;
            }
            Dequeue(waiter);
        }
        waiter.Completion.TrySetCanceled();
    }

    /// <summary>Takes a waiter out of line and gives back its queue places. Under the lock.</summary>
    private void Dequeue(Waiter waiter)
    {
        _queue.Remove(waiter.Node!);
        waiter.Node = null;
        waiter.Timeout?.Dispose();
        // Unregister, not Dispose: Dispose waits for a callback already running, and a running Cancel is waiting for
        // this very lock (a deadlock the randomized test found). A callback that runs late finds the waiter gone.
        waiter.Cancellation.Unregister();
        var user = _users[waiter.Key];
        user.Queued--;
        _globalQueued--;
        ForgetIfIdle(waiter.Key, user);
    }

    private UserState User(TKey key)
    {
        if (!_users.TryGetValue(key, out var user))
        {
            user = new UserState();
            _users[key] = user;
        }
        return user;
    }

    private void ForgetIfIdle(TKey key, UserState user)
    {
        if (user.Active == 0 && user.Queued == 0)
        {
            _users.Remove(key);
        }
    }

    private OverloadException Overload(OverloadReason reason, int size)
    {
        ThrottlingMetrics.Overloads.Add(1, new KeyValuePair<string, object?>("limiter", Name), new KeyValuePair<string, object?>("reason", reason.ToString()));
        var message = reason switch
        {
            OverloadReason.UserQueueFull => $"User queue full ({size}/{Options.MaxQueuePerUser}). Too many concurrent requests.",
            OverloadReason.GlobalQueueFull => $"Server queue full ({size}/{Options.MaxQueueGlobal}). The server is busy.",
            OverloadReason.QueueTimeout => $"Waited {Options.QueueTimeout.TotalSeconds:0} s in the queue without a free slot.",
            _ => "Dropped from the queue to make room for a newer request.",
        };
        return new OverloadException(message, Options.RetryAfter, reason);
    }

    /// <summary>A held slot; disposing it (once, idempotently) frees the slot for the next waiter.</summary>
    public sealed class Lease : IDisposable
    {
        private ResourceLimiter<TKey>? _owner;
        private readonly TKey _key;

        internal Lease(ResourceLimiter<TKey> owner, TKey key)
        {
            _owner = owner;
            _key = key;
        }

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release(_key);
    }
}
