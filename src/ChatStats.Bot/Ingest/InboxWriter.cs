using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Types;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// The poller's batch handler: the raw batch becomes one inbox row. When it commits, the batch is durable and the poller
/// may confirm it; recording happens in <see cref="InboxProcessor"/>, in parallel. A replayed batch is absorbed by the key.
/// </summary>
internal sealed class InboxWriter(NpgsqlDataSource dataSource, IngestWriter writer, InboxSignal signal, IOptions<IngestOptions> options, ILogger<InboxWriter> logger)
    : IUpdateBatchHandler
{
    public async Task HandleBatchAsync(IReadOnlyList<RawUpdate> updates, CancellationToken ct)
    {
        // Backpressure: a processor that cannot keep up slows polling instead of letting the inbox grow without bound.
        await signal.WaitForRoomAsync(options.Value.MaxBacklog, ct);

        var keyed = updates.Where(u => u.UpdateId > 0).ToList();
        var unkeyed = updates.Where(u => u.UpdateId <= 0).ToList();
        if (unkeyed.Count > 0)
        {
            // Without an id an update cannot be ordered or keyed; keep it where an operator will see it.
            logger.LogWarning("{Count} updates without an update_id; dead-lettering them", unkeyed.Count);
            await writer.WriteDeadLettersAsync([.. unkeyed.Select(u => IngestBatchProcessor.DeadLetterFor(u.Parse(), new FormatException("update has no update_id"), u.Json.ToArray()))], ct);
        }
        if (keyed.Count == 0)
        {
            return;
        }

        // Telegram re-delivers unconfirmed updates from the same first id, possibly with more behind them: keep the longer.
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO update_inbox (first_update_id, last_update_id, update_count, payload, received_at)
            VALUES ($1, $2, $3, $4, now())
            ON CONFLICT (first_update_id) DO UPDATE
              SET last_update_id = excluded.last_update_id, update_count = excluded.update_count, payload = excluded.payload
              WHERE excluded.last_update_id > update_inbox.last_update_id
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = keyed.Min(u => u.UpdateId) });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = keyed.Max(u => u.UpdateId) });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = keyed.Count });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = RawUpdate.JoinArray(keyed) });
        if (await cmd.ExecuteNonQueryAsync(ct) > 0)
        {
            signal.Added(keyed.Count);
        }
    }
}
