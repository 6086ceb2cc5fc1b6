using System.Text;
using System.Text.Json;
using ChatStats.Bot.Telegram;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.Options;
using Npgsql;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Records a chunk of inbox updates: claims them (FOR UPDATE SKIP LOCKED, so two processes never record the same
/// update at once), reads each on its own with Telegram.Bot (one it cannot read is dead-lettered with its bytes, the
/// rest are recorded), writes their rows and rollup changes, deletes them from the inbox, all in one transaction; then
/// hands the updates that need an answer to the dispatcher, each once however often it was received.
/// </summary>
internal sealed class IngestBatchProcessor(
    [FromKeyedServices(Data.DatabaseExtensions.IngestPool)] NpgsqlDataSource dataSource,
    IngestWriter writer,
    IdentityCache identities,
    UpdateDispatcher dispatcher,
    Throttling.CapacityMonitor capacity,
    BotIdentity identity,
    IOptions<PrivacyOptions> privacy,
    TimeProvider time,
    ILogger<IngestBatchProcessor> logger)
{
    /// <summary>One claimed update, with the bytes Telegram sent for it.</summary>
    internal sealed record Claimed(long UpdateId, ReadOnlyMemory<byte> Payload, DateTime ReceivedAt);

    /// <summary>A claimed chunk: its transaction holds the inbox rows' locks until <see cref="CompleteAsync"/> commits.</summary>
    internal sealed class Chunk(NpgsqlConnection connection, NpgsqlTransaction tx, Action released) : IAsyncDisposable
    {
        private int _released;

        public NpgsqlConnection Connection { get; } = connection;
        public NpgsqlTransaction Transaction { get; } = tx;
        /// <summary>The chunk's updates, each once (a replay or a webhook retry stored twice is read once).</summary>
        public required IReadOnlyList<Claimed> Claimed { get; init; }
        /// <summary>The inbox rows this chunk removes when it commits.</summary>
        public required long[] InboxRows { get; init; }
        /// <summary>
        /// The kind of each update the library could read, for the metric once the chunk commits. The updates themselves
        /// are not kept: each one's object graph dies as soon as it is mapped to rows (a chunk of them kept alive until
        /// the commit survived several collections and cost measurable GC pauses).
        /// </summary>
        public required IReadOnlyList<UpdateType> Kinds { get; init; }
        /// <summary>
        /// Updates to answer once the chunk commits: those that need a handler and were not answered before
        /// (handled_updates), each with when it was received.
        /// </summary>
        public required IReadOnlyList<(Update Update, DateTime ReceivedAt)> ToAnswer { get; init; }
        public required IngestBatch Batch { get; set; }
        public required long StartedAt { get; init; }
        public int Count => Claimed.Count;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                released();
            }
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }

    private int _recording;

    /// <summary>
    /// Chunks claimed and not yet disposed: their updates have left the inbox (once committed) but may not have reached
    /// the dispatcher yet. With the inbox empty and this 0, every recorded question has been handed over.
    /// </summary>
    public int Recording => Volatile.Read(ref _recording);

    /// <summary>Records up to <paramref name="max"/> updates; returns how many were taken from the inbox (0 when empty).</summary>
    public async Task<int> ProcessNextAsync(int max, CancellationToken ct)
    {
        await using var chunk = await ClaimAsync(max, ct);
        return chunk is null ? 0 : await CompleteAsync(chunk, ct);
    }

    /// <summary>
    /// Claims and maps the next chunk without writing it. Rows another chunk holds are skipped, so the next chunk can be
    /// claimed and parsed while the previous one is still being written.
    /// </summary>
    public async Task<Chunk?> ClaimAsync(int max, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var connection = await dataSource.OpenConnectionAsync(ct);
        NpgsqlTransaction? tx = null;
        try
        {
            tx = await connection.BeginTransactionAsync(ct);
            var (rows, claimed) = await ClaimRowsAsync(connection, tx, max, ct);
            if (rows.Length == 0)
            {
                await tx.DisposeAsync();
                await connection.DisposeAsync();
                return null;
            }
            var updates = claimed.Select(c => new RawUpdate(c.UpdateId, c.Payload).Read()).ToList();
            var toAnswer = await ClaimAnswersAsync(connection, tx, updates, ct);
            // If the chunk is refused, roll back to here: the claim's row locks stay held while updates go one by one.
            await tx.SaveAsync(ClaimedSavepoint, ct);
            Interlocked.Increment(ref _recording);
            return new Chunk(connection, tx, () => Interlocked.Decrement(ref _recording))
            {
                Claimed = claimed,
                InboxRows = rows,
                Kinds = [.. updates.Where(u => u.IsReadable).Select(u => u.Update!.Type)],
                ToAnswer = [.. updates.Zip(claimed).Where(u => u.First.IsReadable && toAnswer.Contains(u.First.UpdateId)).Select(u => (u.First.Update!, u.Second.ReceivedAt))],
                Batch = Map(updates, claimed),
                StartedAt = started,
            };
        }
        catch
        {
            if (tx is not null)
            {
                await tx.DisposeAsync();
            }
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes the chunk's rows, deletes it from the inbox, commits, then dispatches what needs an answer.</summary>
    public async Task<int> CompleteAsync(Chunk chunk, CancellationToken ct)
    {
        try
        {
            // Filtered here, not when claimed: the previous chunk's names must be remembered first.
            identities.RemoveUnchanged(chunk.Batch);
            await writer.WriteAsync(chunk.Batch, chunk.Connection, chunk.Transaction, chunk.InboxRows, ct);
            await chunk.Transaction.CommitAsync(ct);
            identities.Remember(chunk.Batch);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            // One update carries something the database refuses: record them one by one so only that one is set aside.
            await chunk.Transaction.RollbackAsync(ClaimedSavepoint, ct);
            identities.Clear();
            IngestMetrics.BatchRetries.Add(1);
            logger.LogWarning(ex, "A chunk of {Count} updates was refused; recording update by update", chunk.Count);
            chunk.Batch = await ProcessOneByOneAsync(chunk, ct);
            await chunk.Transaction.CommitAsync(ct);
        }

        var batch = chunk.Batch;
        IngestMetrics.MessagesWritten.Add(batch.Messages.Count);
        IngestMetrics.ChunkSize.Record(chunk.Count);
        IngestMetrics.IngestLatency.Record((DateTime.UtcNow - chunk.Claimed.Min(c => c.ReceivedAt)).TotalSeconds);
        IngestMetrics.ProcessDuration.Record(time.GetElapsedTime(chunk.StartedAt).TotalSeconds);
        if (batch.DeadLetters.Count > 0)
        {
            IngestMetrics.UpdatesFailed.Add(batch.DeadLetters.Count, new KeyValuePair<string, object?>("stage", "ingest"));
        }
        foreach (var kind in chunk.Kinds)
        {
            IngestMetrics.UpdatesHandled.Add(1, new KeyValuePair<string, object?>("kind", KindTag(kind)));
        }
        // Never waits: answers that cannot be queued are given up, recording goes on.
        foreach (var (update, receivedAt) in chunk.ToAnswer)
        {
            try
            {
                dispatcher.Enqueue(update, receivedAt);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The chunk is committed: one update that cannot be queued must not cost the others their answers.
                logger.LogError(ex, "Update {UpdateId} could not be queued for an answer; it is recorded, not answered", update.Id);
            }
        }
        return chunk.Count;
    }

    /// <summary>
    /// Marks the chunk's updates that need an answer as answered (handled_updates, kept for two days: Telegram keeps
    /// an unconfirmed update for one) and returns those that were not already: a batch replayed after a crash, or a
    /// webhook delivery Telegram retried, is recorded again harmlessly but must not be answered twice. In the claim's
    /// transaction, so a chunk that rolls back answers nothing, and a second process holding a copy waits for this one.
    /// </summary>
    private static async Task<IReadOnlySet<long>> ClaimAnswersAsync(NpgsqlConnection connection, NpgsqlTransaction tx, List<ReadUpdate> updates, CancellationToken ct)
    {
        var needing = updates.Where(u => u.Update is { } update && UpdateDispatcher.NeedsHandler(update)).ToArray();
        if (needing.Length == 0)
        {
            return new HashSet<long>();
        }
        var wanted = needing.Select(u => u.UpdateId).ToArray();
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO handled_updates (update_id, handled_at, chat_id)
            SELECT id, now(), chat FROM unnest(@ids::bigint[], @chats::bigint[]) AS ids(id, chat)
            ON CONFLICT (update_id) DO NOTHING
            RETURNING update_id
            """, connection, tx);
        cmd.Parameters.Add(new NpgsqlParameter<long[]>("ids", wanted));
        cmd.Parameters.Add(new NpgsqlParameter<long?[]>("chats", [.. needing.Select(u => u.Update!.ChatId())]));
        var fresh = new HashSet<long>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                fresh.Add(reader.GetInt64(0));
            }
        }
        if (fresh.Count < wanted.Length)
        {
            IngestMetrics.DuplicatesSkipped.Add(wanted.Length - fresh.Count);
        }
        return fresh;
    }

    /// <summary>
    /// Claims inbox rows in update order until about <paramref name="max"/> updates are in hand (a long-poll row holds up
    /// to 100). An update stored twice (a replay, a webhook retry) is kept once.
    /// </summary>
    private static async Task<(long[] Rows, List<Claimed> Updates)> ClaimRowsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, int max, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT id, payload, received_at FROM update_inbox
            ORDER BY first_update_id, id LIMIT @rows FOR UPDATE SKIP LOCKED
            """, connection, tx);
        cmd.Parameters.Add(new NpgsqlParameter<int>("rows", Math.Max(1, max / 100)));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<long>();
        var claimed = new List<Claimed>(Math.Min(max, 1024));
        var seen = new HashSet<long>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(reader.GetInt64(0));
            var receivedAt = reader.GetDateTime(2);
            foreach (var update in UpdateBatch.FromArray(reader.GetFieldValue<byte[]>(1)).Updates)
            {
                if (update.UpdateId <= 0 || seen.Add(update.UpdateId))
                {
                    claimed.Add(new Claimed(update.UpdateId, update.Json, receivedAt));
                }
                else
                {
                    IngestMetrics.DuplicatesSkipped.Add(1);
                }
            }
        }
        return ([.. rows], claimed);
    }

    private IngestBatch Map(IReadOnlyList<ReadUpdate> updates, IReadOnlyList<Claimed> raw)
    {
        var storeText = privacy.Value.StoreText;
        var batch = new IngestBatch();
        var single = new IngestBatch();
        for (var i = 0; i < updates.Count; i++)
        {
            if (updates[i].Update is not { } update)
            {
                // The library cannot read it (a kind of object it does not know yet, a wrong type): keep the bytes.
                logger.LogWarning("Update {UpdateId} cannot be read ({Error}); dead-lettering it", updates[i].UpdateId, updates[i].Error);
                batch.DeadLetters.Add(DeadLetterFor(new RawUpdate(raw[i].UpdateId, raw[i].Payload), $"unreadable update: {updates[i].Error}"));
                continue;
            }
            single.Clear();
            try
            {
                if (!capacity.Admits(update, identity.Me?.Id))
                {
                    // A group refused for lack of capacity: nothing of it is kept (the bot tells it so and leaves).
                    continue;
                }
                UpdateMapper.Map(update, single, storeText);
                batch.AddFrom(single);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Update {UpdateId} cannot be recorded; dead-lettering it", update.Id);
                batch.DeadLetters.Add(DeadLetterFor(new RawUpdate(raw[i].UpdateId, raw[i].Payload), $"{ex.GetType().Name}: {ex.Message}", update.ChatId()));
            }
        }
        return batch;
    }

    private const string ClaimedSavepoint = "claimed";

    /// <summary>Each update under its own savepoint in the chunk's transaction; a refused one becomes a dead letter.</summary>
    private async Task<IngestBatch> ProcessOneByOneAsync(Chunk chunk, CancellationToken ct)
    {
        var all = new IngestBatch();
        for (var i = 0; i < chunk.Claimed.Count; i++)
        {
            // Read again from the bytes: the chunk does not keep the objects (rare: only a refused chunk comes here).
            var update = new RawUpdate(chunk.Claimed[i].UpdateId, chunk.Claimed[i].Payload).Read();
            var single = Map([update], [chunk.Claimed[i]]);
            await chunk.Transaction.SaveAsync("update", ct);
            try
            {
                await writer.WriteAsync(single, chunk.Connection, chunk.Transaction, [], ct);
            }
            catch (Exception ex) when (IsDataError(ex))
            {
                await chunk.Transaction.RollbackAsync("update", ct);
                logger.LogWarning(ex, "Update {UpdateId} was refused by the database; dead-lettering it", update.UpdateId);
                single = new IngestBatch();
                single.DeadLetters.Add(DeadLetterFor(new RawUpdate(chunk.Claimed[i].UpdateId, chunk.Claimed[i].Payload),
                    $"{ex.GetType().Name}: {ex.Message}", update.Update?.ChatId()));
                await writer.WriteAsync(single, chunk.Connection, chunk.Transaction, [], ct);
            }
            all.AddFrom(single);
        }
        await writer.WriteAsync(new IngestBatch(), chunk.Connection, chunk.Transaction, chunk.InboxRows, ct);
        return all;
    }

    /// <summary>
    /// Errors about the data itself, as opposed to the database being unreachable, shutting down or not yet migrated
    /// (those are retried until they pass: nothing is set aside because of them).
    /// </summary>
    internal static bool IsDataError(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState.StartsWith("22", StringComparison.Ordinal) // data exception: bad encoding, out of range…
            || pg.SqlState.StartsWith("23", StringComparison.Ordinal) // integrity constraint
            || pg.SqlState.StartsWith("54", StringComparison.Ordinal), // program limit: a value too large
        NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException or IOException => false,
        // Npgsql refusing to encode a value (an unpaired surrogate, say) before it reaches the server.
        ArgumentException or InvalidCastException or System.Text.EncoderFallbackException or FormatException or OverflowException => true,
        _ => false,
    };

    /// <summary>A dead letter keeps the update exactly as Telegram sent it.</summary>
    internal static DeadLetterRow DeadLetterFor(RawUpdate update, string error, long? chatId = null) =>
        new(update.UpdateId <= 0 ? null : update.UpdateId, chatId, PayloadText(update.Json.Span), error, DateTime.UtcNow);

    /// <summary>A dead letter for an update whose handler failed; the update is written back as the library reads it.</summary>
    internal static DeadLetterRow DeadLetterFor(Update update, Exception ex) =>
        new(update.Id <= 0 ? null : update.Id, update.ChatId(), JsonSerializer.Serialize(update, JsonBotAPI.Options),
            $"{ex.GetType().Name}: {ex.Message}", DateTime.UtcNow);

    /// <summary>Bytes as text for the dead-letter table: invalid UTF-8 becomes U+FFFD rather than losing the rest.</summary>
    internal static string PayloadText(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>The Bot API's name of the update kind, for the metric.</summary>
    private static string KindTag(UpdateType type) => type switch
    {
        UpdateType.Message => "message",
        UpdateType.EditedMessage => "edited_message",
        UpdateType.ChannelPost => "channel_post",
        UpdateType.EditedChannelPost => "edited_channel_post",
        UpdateType.CallbackQuery => "callback_query",
        UpdateType.MyChatMember => "my_chat_member",
        UpdateType.ChatMember => "chat_member",
        UpdateType.MessageReaction => "message_reaction",
        UpdateType.MessageReactionCount => "message_reaction_count",
        _ => "unknown",
    };
}
