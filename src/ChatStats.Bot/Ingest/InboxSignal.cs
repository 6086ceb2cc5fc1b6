namespace ChatStats.Bot.Ingest;

/// <summary>
/// What the poller and the inbox processor tell each other: "there is work" one way, "there is room" the other.
/// The backlog count is approximate (replays may count twice) and only ever used to slow the poller down.
/// </summary>
internal sealed class InboxSignal : IDisposable
{
    private readonly SemaphoreSlim _work = new(0, 1);
    private readonly SemaphoreSlim _room = new(0, 1);
    private long _backlog;

    public long Backlog => Interlocked.Read(ref _backlog);

    public void Set(long backlog) => Interlocked.Exchange(ref _backlog, backlog);

    public void Added(int count)
    {
        Interlocked.Add(ref _backlog, count);
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
