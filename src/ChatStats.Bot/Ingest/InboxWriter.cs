using System.Diagnostics;
using System.Threading.Channels;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// The inbox: received updates become rows exactly as Telegram sent them, and only once a row has committed may the
/// poller confirm its offset or the webhook answer 200; recording happens in <see cref="InboxProcessor"/>, in parallel.
/// Stores share commits: one commit is on its way at a time, and whatever arrives meanwhile goes into the next one (a
/// long-poll batch is a group of one; a hundred concurrent webhook deliveries are groups of about forty), so the disk's
/// flush, not the number of deliveries, sets the pace. Two commits in flight made groups half the size and the
/// webhook slower (docs/benchmarks.md). A replayed update may be stored twice; recording absorbs it by its keys and
/// answers it once.
/// </summary>
internal sealed class InboxWriter : IUpdateInbox, IAsyncDisposable
{
    private const int MaxGroupUpdates = 1_000;

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly NpgsqlDataSource _dataSource;
    private readonly IngestWriter _writer;
    private readonly InboxSignal _signal;
    private readonly IOptions<IngestOptions> _options;
    private readonly ILogger<InboxWriter> _logger;
    private readonly Lazy<Task> _writing;

    public InboxWriter([FromKeyedServices(Data.DatabaseExtensions.IngestPool)] NpgsqlDataSource dataSource, IngestWriter writer, InboxSignal signal, IOptions<IngestOptions> options, ILogger<InboxWriter> logger)
    {
        _dataSource = dataSource;
        _writer = writer;
        _signal = signal;
        _options = options;
        _logger = logger;
        _writing = new Lazy<Task>(() => Task.Run(WriteGroupsAsync));
    }

    private sealed record Pending(UpdateBatch Batch, TaskCompletionSource Stored);

    public async Task StoreAsync(UpdateBatch batch, CancellationToken ct)
    {
        // Backpressure: a processor that cannot keep up slows receiving instead of letting the inbox grow without bound.
        await _signal.WaitForRoomAsync(_options.Value.MaxBacklog, ct);

        var unkeyed = batch.Updates.Where(u => u.UpdateId <= 0).ToList();
        if (unkeyed.Count > 0)
        {
            // Without an id an update cannot be ordered or keyed; keep it where an operator will see it.
            _logger.LogWarning("{Count} updates without an update_id; dead-lettering them", unkeyed.Count);
            await _writer.WriteDeadLettersAsync([.. unkeyed.Select(u => IngestBatchProcessor.DeadLetterFor(u, "update has no update_id"))], ct);
            if (unkeyed.Count == batch.Count)
            {
                return;
            }
            batch = UpdateBatch.Join([.. batch.Updates.Where(u => u.UpdateId > 0)]);
        }

        // Completed inline by the writer after its commit: each waiter only finishes its request (the webhook's 200, the
        // poller's next getUpdates) up to its next await, and a hop to the thread pool per delivery cost more than that.
        var pending = new Pending(batch, new TaskCompletionSource());
        _ = _writing.Value;
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(InboxWriter), "the inbox is shutting down");
        }
        // A caller that gives up stops waiting; the group it joined still commits (a later delivery is absorbed).
        await pending.Stored.Task.WaitAsync(ct);
    }

    public Task StoreUnreadableAsync(ReadOnlyMemory<byte> body, string reason, CancellationToken ct) =>
        _writer.WriteDeadLettersAsync([new DeadLetterRow(null, null, IngestBatchProcessor.PayloadText(body.Span), reason, DateTime.UtcNow)], ct);

    private async Task WriteGroupsAsync()
    {
        var reader = _pending.Reader;
        var group = new List<Pending>();
        while (await reader.WaitToReadAsync())
        {
            group.Clear();
            var updates = 0;
            while (updates < MaxGroupUpdates && reader.TryRead(out var next))
            {
                group.Add(next);
                updates += next.Batch.Count;
            }
            if (group.Count == 0)
            {
                continue;
            }
            try
            {
                await InsertAsync(group.Count == 1 ? group[0].Batch : UpdateBatch.Join([.. group.SelectMany(p => p.Batch.Updates)]));
                _signal.Added(updates);
                foreach (var stored in group)
                {
                    stored.Stored.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                foreach (var failed in group)
                {
                    failed.Stored.TrySetException(ex);
                }
            }
        }
    }

    private async Task InsertAsync(UpdateBatch batch)
    {
        var started = Stopwatch.GetTimestamp();
        await using var cmd = _dataSource.CreateCommand("""
            INSERT INTO update_inbox (first_update_id, last_update_id, update_count, payload, received_at)
            VALUES (@first, @last, @count, @payload, now())
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long>("first", batch.Updates.Min(u => u.UpdateId)));
        cmd.Parameters.Add(new NpgsqlParameter<long>("last", batch.Updates.Max(u => u.UpdateId)));
        cmd.Parameters.Add(new NpgsqlParameter<int>("count", batch.Count));
        cmd.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("payload", batch.Json));
        // Autocommit: the insert and its commit in one round trip.
        await cmd.ExecuteNonQueryAsync();
        IngestMetrics.InboxCommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        IngestMetrics.InboxGroupSize.Record(batch.Count);
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        if (_writing.IsValueCreated)
        {
            await _writing.Value;
        }
    }
}
