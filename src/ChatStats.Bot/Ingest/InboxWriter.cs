using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Types;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// The poller's batch handler: one multi-row insert of the raw updates into the inbox. When it commits, the batch is
/// durable and the poller may confirm it; recording happens in <see cref="InboxProcessor"/>, in parallel. A replayed
/// batch is absorbed by the key.
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
            // Without an id an update cannot be keyed in the inbox; keep it where an operator will see it.
            logger.LogWarning("{Count} updates without an update_id; dead-lettering them", unkeyed.Count);
            await writer.WriteDeadLettersAsync([.. unkeyed.Select(u => IngestBatchProcessor.DeadLetterFor(u.Parse(), new FormatException("update has no update_id"), u.Json.ToArray()))], ct);
        }
        if (keyed.Count == 0)
        {
            return;
        }

        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO update_inbox (update_id, payload, received_at)
            SELECT id, payload, now() FROM unnest($1::bigint[], $2::bytea[]) AS u(id, payload)
            ON CONFLICT (update_id) DO NOTHING
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. keyed.Select(u => u.UpdateId)] });
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. keyed.Select(u => u.Json.ToArray())], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        var inserted = await cmd.ExecuteNonQueryAsync(ct);
        signal.Added(inserted);
    }
}
