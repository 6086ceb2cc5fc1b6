namespace ChatStats.Bot.Ingest;

/// <summary>
/// What the poller and the inbox processor tell each other: "there is work" one way, "there is room" the other.
/// The backlog count is approximate (replays may count twice) and only ever used to slow the poller down.
/// </summary>
internal sealed class InboxSignal(TimeProvider? time = null) : IDisposable
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _work = new(0, 1);
    private readonly SemaphoreSlim _room = new(0, 1);
    private long _backlog;
    // Updates stored in this process in the current whole second of the clock and the one before.
    private readonly Lock _rate = new();
    private long _second;
    private long _thisSecond;
    private long _lastSecond;

    public long Backlog => Interlocked.Read(ref _backlog);

    /// <summary>
    /// Updates this process stored in about the last second (the busier of this whole second and the one before): enough
    /// to tell a flood from ordinary traffic.
    /// </summary>
    public long ArrivingPerSecond
    {
        get
        {
            lock (_rate)
            {
                Roll(_time.GetTimestamp() / _time.TimestampFrequency);
                return Math.Max(_thisSecond, _lastSecond);
            }
        }
    }

    private void Roll(long now)
    {
        if (now != _second)
        {
            _lastSecond = now == _second + 1 ? _thisSecond : 0;
            _thisSecond = 0;
            _second = now;
        }
    }

    public void Set(long backlog) => Interlocked.Exchange(ref _backlog, backlog);

    public void Added(int count)
    {
        Interlocked.Add(ref _backlog, count);
        lock (_rate)
        {
            Roll(_time.GetTimestamp() / _time.TimestampFrequency);
            _thisSecond += count;
        }
        Release(_work);
    }

    public void Processed(int count)
    {
        if (Interlocked.Add(ref _backlog, -count) < 0)
        {
            Interlocked.Exchange(ref _backlog, 0);
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
