namespace ChatStats.Telegram.Types;

/// <summary>
/// One update exactly as Telegram sent it: its id and its JSON bytes. Storing these is enough to confirm the offset;
/// <see cref="Parse"/> turns them into an <see cref="Update"/> whenever the caller is ready.
/// </summary>
public readonly record struct RawUpdate(long UpdateId, ReadOnlyMemory<byte> Json)
{
    /// <summary>Never throws: malformed updates come back as <see cref="UpdateKind.Malformed"/> with their raw JSON.</summary>
    public Update Parse() => BotApiClient.ParseUpdate(UpdateId, Json.Span);

    /// <summary>Several updates as one JSON array, the form <see cref="SplitArray"/> reads back.</summary>
    public static byte[] JoinArray(IReadOnlyList<RawUpdate> updates)
    {
        var length = 2 + Math.Max(0, updates.Count - 1);
        foreach (var update in updates)
        {
            length += update.Json.Length;
        }
        var buffer = new byte[length];
        buffer[0] = (byte)'[';
        var position = 1;
        for (var i = 0; i < updates.Count; i++)
        {
            if (i > 0)
            {
                buffer[position++] = (byte)',';
            }
            updates[i].Json.Span.CopyTo(buffer.AsSpan(position));
            position += updates[i].Json.Length;
        }
        buffer[position] = (byte)']';
        return buffer;
    }

    /// <summary>Cuts a JSON array of updates into one <see cref="RawUpdate"/> per element, reading only their ids.</summary>
    public static IReadOnlyList<RawUpdate> SplitArray(byte[] json) => BotApiClient.SplitArray(json);
}
