namespace ChatStats.Telegram.Receiving;

/// <summary>
/// Where received updates go before anything else happens to them. The poller confirms an offset, and the webhook
/// answers 200, only after <see cref="StoreAsync"/> has returned: from then on the updates are durable.
/// </summary>
public interface IUpdateInbox
{
    /// <summary>Stores the updates exactly as received; when the task completes they are durable.</summary>
    Task StoreAsync(UpdateBatch batch, CancellationToken ct);

    /// <summary>Keeps bytes that arrived as an update but cannot be read as one, with the reason, where an operator will see them.</summary>
    Task StoreUnreadableAsync(ReadOnlyMemory<byte> body, string reason, CancellationToken ct);
}
