namespace ChatStats.Bot.Ingest;

/// <summary>
/// What the poller and the inbox processor tell each other: "there is work" one way, "there is room" the other.
/// The backlog count is approximate (replays may count twice) and only ever used to make way for recording: the
/// poller slows down, a flood's answers and the word folder wait.
/// </summary>
internal sealed class InboxSignal(TimeProvider? time = null) : IDisposable
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _work = new(0, 1);
    private readonly SemaphoreSlim _room = new(0, 1);
    private long _backlog;
    // Updates stored and recorded in this process in each of the last whole seconds of the clock, this one last.
    private const int Seconds = 12;
    private readonly Lock _rate = new();
    private readonly long[] _perSecond = new long[Seconds];
    private readonly long[] _recordedPerSecond = new long[Seconds];
    private long _second;

    public long Backlog => Interlocked.Read(ref _backlog);

    /// <summary>
    /// Whether updates are coming in a surge: more than <paramref name="threshold"/> in about the last second, and more
    /// than twice as many as a second brought on average in the ten before. A flood is one; a steady stream is not,
    /// however fast.
    /// </summary>
    public bool Surging(long threshold)
    {
        lock (_rate)
        {
            Roll();
            var now = Math.Max(_perSecond[Slot(_second)], _perSecond[Slot(_second - 1)]);
            long before = 0;
            for (var s = 2; s < Seconds; s++)
            {
                before += _perSecond[Slot(_second - s)];
            }
            return now > threshold && now > 2 * before / (Seconds - 2);
        }
    }

    /// <summary>
    /// Whether recording is behind: more waits than a chunk (<paramref name="chunk"/>) and more than this process
    /// recorded in a second lately (the best of the last five whole seconds), so what waits now will not be recorded within
    /// about a second. A steady stream that recording keeps up with is not behind, however fast: at 5,000 updates a second
    /// the inbox holds a second's fraction of them between chunks, more than a chunk at times, and answers that waited
    /// for it whenever it did waited two seconds each (the 10M-message steady load run, docs/benchmarks.md). A flood is
    /// behind until what is left of it is recorded within the second. With several processes recording one inbox, this
    /// one's own pace is the measure: it errs towards waiting.
    /// </summary>
    public bool Behind(long chunk)
    {
        var backlog = Backlog;
        if (backlog <= chunk)
        {
            return false;
        }
        lock (_rate)
        {
            Roll();
            long best = 0;
            for (var s = 1; s <= 5; s++)
            {
                best = Math.Max(best, _recordedPerSecond[Slot(_second - s)]);
            }
            return backlog > best;
        }
    }

    private static int Slot(long second) => (int)(((second % Seconds) + Seconds) % Seconds);

    private void Roll()
    {
        var now = _time.GetTimestamp() / _time.TimestampFrequency;
        // Seconds gone by since the last update are empty ones.
        for (var s = Math.Max(_second + 1, now - Seconds + 1); s <= now; s++)
        {
            _perSecond[Slot(s)] = 0;
            _recordedPerSecond[Slot(s)] = 0;
        }
        _second = Math.Max(_second, now);
    }

    public void Set(long backlog) => Interlocked.Exchange(ref _backlog, backlog);

    public void Added(int count)
    {
        Interlocked.Add(ref _backlog, count);
        lock (_rate)
        {
            Roll();
            _perSecond[Slot(_second)] += count;
        }
        Release(_work);
    }

    public void Processed(int count)
    {
        if (Interlocked.Add(ref _backlog, -count) < 0)
        {
            Interlocked.Exchange(ref _backlog, 0);
        }
        lock (_rate)
        {
            Roll();
            _recordedPerSecond[Slot(_second)] += count;
        }
        Release(_room);
    }

    public Task<bool> WaitForWorkAsync(TimeSpan timeout, CancellationToken ct) => _work.WaitAsync(timeout, ct);

    public async Task WaitForRoomAsync(long maxBacklog, CancellationToken ct)
    {
        while (Backlog >= maxBacklog)
        {
            await _room.WaitAsync(TimeSpan.FromSeconds(1), ct);
        }
    }

    public void Dispose()
    {
        _work.Dispose();
        _room.Dispose();
    }

    private static void Release(SemaphoreSlim semaphore)
    {
        try
        {
            if (semaphore.CurrentCount == 0)
            {
                semaphore.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one pending wake-up is enough.
        }
    }
}
