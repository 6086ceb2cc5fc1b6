using System.Diagnostics;
using ChatStats.Telegram.Polling;
using ChatStats.Telegram.Types;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// The poller's batch handler: records every update of the batch in one transaction, then hands the updates that need
/// an answer to the dispatcher. Returning means the batch is durable and its offset may be confirmed.
/// </summary>
internal sealed class IngestBatchHandler(
    IngestWriter writer,
    UpdateDispatcher dispatcher,
    IOptions<PrivacyOptions> privacy,
    TimeProvider time,
    ILogger<IngestBatchHandler> logger) : IUpdateBatchHandler
{
    public async Task HandleBatchAsync(IReadOnlyList<Update> updates, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var storeText = privacy.Value.StoreText;
        var batch = new IngestBatch();
        var single = new IngestBatch();
        foreach (var update in updates)
        {
            single.Clear();
            try
            {
                UpdateMapper.Map(update, single, storeText);
                batch.AddFrom(single);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Update {UpdateId} cannot be recorded; dead-lettering it", update.UpdateId);
                batch.DeadLetters.Add(DeadLetterFor(update, ex));
            }
        }

        try
        {
            await writer.WriteAsync(batch, ct);
        }
        catch (Exception ex) when (IsDataError(ex))
        {
            // One update carries something the database refuses: write them one by one so only that one is set aside.
            IngestMetrics.BatchRetries.Add(1);
            logger.LogWarning(ex, "A batch of {Count} updates was refused; writing update by update", updates.Count);
            await WriteOneByOneAsync(updates, storeText, ct);
        }

        IngestMetrics.MessagesWritten.Add(batch.Messages.Count);
        IngestMetrics.IngestLatency.Record(time.GetElapsedTime(started).TotalSeconds);
        var failed = batch.DeadLetters.Count;
        if (failed > 0)
        {
            IngestMetrics.UpdatesFailed.Add(failed, new KeyValuePair<string, object?>("stage", "ingest"));
        }

        foreach (var update in updates)
        {
            if (update.Kind != UpdateKind.Malformed)
            {
                IngestMetrics.UpdatesHandled.Add(1, new KeyValuePair<string, object?>("kind", KindTag(update.Kind)));
            }
            if (UpdateDispatcher.NeedsHandler(update))
            {
                await dispatcher.EnqueueAsync(update, ct);
            }
        }
    }

    private async Task WriteOneByOneAsync(IReadOnlyList<Update> updates, bool storeText, CancellationToken ct)
    {
        var single = new IngestBatch();
        foreach (var update in updates)
        {
            single.Clear();
            try
            {
                UpdateMapper.Map(update, single, storeText);
                await writer.WriteAsync(single, ct);
            }
            catch (Exception ex) when (IsDataError(ex))
            {
                logger.LogWarning(ex, "Update {UpdateId} was refused by the database; dead-lettering it", update.UpdateId);
                await writer.WriteDeadLettersAsync([DeadLetterFor(update, ex)], ct);
                IngestMetrics.UpdatesFailed.Add(1, new KeyValuePair<string, object?>("stage", "database"));
            }
        }
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

    internal static DeadLetterRow DeadLetterFor(Update update, Exception ex) =>
        new(update.UpdateId == 0 ? null : update.UpdateId, update.ChatId, UpdateMapper.Payload(update), $"{ex.GetType().Name}: {ex.Message}", DateTime.UtcNow);

    private static string KindTag(UpdateKind kind) => kind switch
    {
        UpdateKind.Message => "message",
        UpdateKind.EditedMessage => "edited_message",
        UpdateKind.ChannelPost => "channel_post",
        UpdateKind.EditedChannelPost => "edited_channel_post",
        UpdateKind.CallbackQuery => "callback_query",
        UpdateKind.MyChatMember => "my_chat_member",
        UpdateKind.ChatMember => "chat_member",
        UpdateKind.MessageReaction => "message_reaction",
        UpdateKind.MessageReactionCount => "message_reaction_count",
        _ => "unknown",
    };
}
