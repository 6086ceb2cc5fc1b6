namespace ChatStats.Telegram.Types;

/// <summary>
/// One update exactly as Telegram sent it: its id and its JSON bytes. Storing these is enough to confirm the offset;
/// <see cref="Parse"/> turns them into an <see cref="Update"/> whenever the caller is ready.
/// </summary>
public readonly record struct RawUpdate(long UpdateId, ReadOnlyMemory<byte> Json)
{
    /// <summary>Never throws: malformed updates come back as <see cref="UpdateKind.Malformed"/> with their raw JSON.</summary>
    public Update Parse() => BotApiClient.ParseUpdate(UpdateId, Json.Span);
}
