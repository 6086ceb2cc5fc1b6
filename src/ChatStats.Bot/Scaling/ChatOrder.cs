using ChatStats.Bot.Data;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ChatStats.Bot.Telegram;
using Npgsql;
using Telegram.Bot.Types;

namespace ChatStats.Bot.Scaling;

/// <summary>
/// A chat's answers in order across bot instances. Each instance keeps its own chats' order (the dispatcher's lanes),
/// but with several of them recording the inbox a chat's two questions can land in two instances. So, while more than one
/// instance answers, an answer starts only when (a) no earlier question of the same chat is still unanswered in
/// handled_updates, and (b) no inbox row with an earlier update is still waiting to be recorded by someone (a question
/// in it would not be in handled_updates yet). Chunks are claimed in update order, so (b) waits at most for chunks
/// already in flight. The wait is bounded (<see cref="MaxWait"/>): an instance that died mid-answer cannot hold a chat
/// for long. With one instance nothing waits (the lanes already keep the order) and nothing is marked, so a single bot
/// pays no write per answer; a second instance that joins may wait (at most <see cref="MaxWait"/>) for the chats the
/// first answered in the minute before it saw the second.
/// <para>
/// Every waiting answer and every finished one goes through one loop that asks PostgreSQL once per
/// <see cref="Tick"/> for all of them: a thousand chats waiting cost one query, not a thousand polls (which, tried
/// first, starved the recording they were waiting for).
/// </para>
/// </summary>
internal sealed class ChatOrder(NpgsqlDataSource dataSource, DeploymentPeers peers, TimeProvider time, ILogger<ChatOrder> logger) : BackgroundService
{
    private static readonly Meter Meter = new("ChatStats.Bot.Order");
    private static readonly Counter<long> Waited = Meter.CreateCounter<long>("chatstats.dispatch.order_waits", "{update}",
        "Answers that waited for an earlier question of the same chat handled by another instance, by outcome (turn, timeout).");

    /// <summary>The longest an answer waits for its turn before it goes anyway.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    /// <summary>How often the waiting answers are checked and the finished ones marked, in one round trip each.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentQueue<long> _finished = new();
    private readonly Lock _lock = new();
    private readonly List<Waiter> _waiting = [];

    /// <summary>Completes once the earlier questions of the update's chat, wherever they are handled, have been answered.</summary>
    public Task WaitForTurnAsync(Update update)
    {
        if (peers.Answering <= 1 || update.ChatId() is not { } chatId || update.Id <= 0 || ExecuteTask is not { IsCompleted: false })
        {
            return Task.CompletedTask;
        }
        var waiter = new Waiter(chatId, update.Id, time.GetTimestamp());
        lock (_lock)
        {
            _waiting.Add(waiter);
        }
        return waiter.Turn.Task;
    }

    /// <summary>Marks questions answered (or given up), so the next one of their chat may start on any instance.</summary>
    public void Finished(IEnumerable<Update> askers)
    {
        if (peers.Answering <= 1)
        {
            return;
        }
        foreach (var asker in askers)
        {
            if (asker.Id > 0)
            {
                _finished.Enqueue(asker.Id);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await MarkFinishedAsync(stoppingToken);
                await ReleaseTurnsAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Stopping: nothing may be left waiting on a loop that no longer runs.
            ReleaseAll(_ => true);
            await MarkFinishedAsync(CancellationToken.None);
        }
    }

    private async Task MarkFinishedAsync(CancellationToken ct)
    {
        if (_finished.IsEmpty)
        {
            return;
        }
        var ids = new List<long>();
        while (ids.Count < 10_000 && _finished.TryDequeue(out var id))
        {
            ids.Add(id);
        }
        try
        {
            await using var cmd = dataSource.CreateCommand("UPDATE handled_updates SET finished_at = now() WHERE update_id = ANY(@updates) AND finished_at IS NULL")
                .With<long[]>("updates", [.. ids]);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // Unmarked, a question holds its chat's next one at most MaxWait.
            logger.LogDebug("{Count} answered updates not marked: {Error}", ids.Count, ex.Message);
        }
    }

    private async Task ReleaseTurnsAsync(CancellationToken ct)
    {
        Waiter[] waiting;
        lock (_lock)
        {
            if (_waiting.Count == 0)
            {
                return;
            }
            waiting = [.. _waiting];
        }
        foreach (var late in ReleaseAll(w => time.GetElapsedTime(w.Since) >= MaxWait))
        {
            Waited.Add(1, new KeyValuePair<string, object?>("outcome", "timeout"));
            logger.LogInformation("Update {UpdateId} in chat {ChatId} waited {Wait} for an earlier question handled elsewhere; answering it now", late.UpdateId, late.ChatId, MaxWait);
        }
        HashSet<Waiter> clear;
        try
        {
            clear = await ClearAsync(waiting, ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The order is a courtesy; answers are not held up over a check that cannot be made.
            logger.LogDebug("Turns of {Count} updates not checked: {Error}", waiting.Length, ex.Message);
            ReleaseAll(_ => true);
            return;
        }
        var released = ReleaseAll(clear.Contains);
        foreach (var waiter in released.Where(w => w.Checked))
        {
            Waited.Add(1, new KeyValuePair<string, object?>("outcome", "turn"));
        }
        lock (_lock)
        {
            foreach (var waiter in _waiting)
            {
                waiter.Checked = true;
            }
        }
    }

    /// <summary>Which of the waiting answers have no earlier question pending anywhere.</summary>
    private async Task<HashSet<Waiter>> ClearAsync(Waiter[] waiting, CancellationToken ct)
    {
        // Rows older than a minute are left out: an instance that died mid-answer, or a row from before this column existed.
        await using var cmd = dataSource.CreateCommand("""
            WITH inbox AS (SELECT min(first_update_id) AS first FROM update_inbox)
            SELECT w.i - 1
            FROM unnest(@chats::bigint[], @updates::bigint[]) WITH ORDINALITY AS w(chat_id, update_id, i), inbox
            WHERE (inbox.first IS NULL OR inbox.first >= w.update_id)
              AND NOT EXISTS (SELECT 1 FROM handled_updates h
                              WHERE h.chat_id = w.chat_id AND h.update_id < w.update_id AND h.finished_at IS NULL
                                AND h.handled_at > now() - interval '1 minute')
            """).With<long[]>("chats", [.. waiting.Select(w => w.ChatId)]).With<long[]>("updates", [.. waiting.Select(w => w.UpdateId)]);
        var clear = new HashSet<Waiter>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            clear.Add(waiting[(int)reader.GetInt64(0)]);
        }
        return clear;
    }

    private List<Waiter> ReleaseAll(Func<Waiter, bool> which)
    {
        List<Waiter> released;
        lock (_lock)
        {
            released = _waiting.Where(which).ToList();
            if (released.Count > 0)
            {
                var gone = released.ToHashSet();
                _waiting.RemoveAll(gone.Contains);
            }
        }
        foreach (var waiter in released)
        {
            waiter.Turn.TrySetResult();
        }
        return released;
    }

    private sealed class Waiter(long chatId, long updateId, long since)
    {
        public long ChatId { get; } = chatId;
        public long UpdateId { get; } = updateId;
        public long Since { get; } = since;

        /// <summary>Set once a check found it still waiting: only those count as having waited.</summary>
        public bool Checked { get; set; }

        public TaskCompletionSource Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
