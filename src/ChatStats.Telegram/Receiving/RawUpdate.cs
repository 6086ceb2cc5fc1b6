using System.Text.Json;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace ChatStats.Telegram.Receiving;

/// <summary>
/// One update exactly as Telegram sent it: its id and its JSON bytes. Storing these is enough to confirm the offset;
/// <see cref="Read"/> turns them into a Telegram.Bot <see cref="Update"/> whenever the caller is ready.
/// </summary>
public readonly record struct RawUpdate(long UpdateId, ReadOnlyMemory<byte> Json)
{
    /// <summary>
    /// Reads this update on its own with Telegram.Bot's JSON options. Never throws: an update the library cannot read (a
    /// polymorphic <c>type</c> it does not know yet, a wrong type, a date out of range) or that lacks a field the Bot API
    /// always sends (<see cref="UpdateShape"/>) comes back with the reason, so
    /// the caller can set it aside and record the rest of its batch. Fields and update kinds newer than the library are
    /// dropped by it: such an update reads as <c>UpdateType.Unknown</c>.
    /// </summary>
    public ReadUpdate Read()
    {
        try
        {
            var update = JsonSerializer.Deserialize<Update>(Json.Span, JsonBotAPI.Options);
            return update is null ? new ReadUpdate(UpdateId, null, "the update is null")
                : UpdateShape.Problem(update) is { } problem ? new ReadUpdate(UpdateId, null, problem)
                : new ReadUpdate(UpdateId, update, null);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or FormatException
                                       or OverflowException or ArgumentException or InvalidCastException or KeyNotFoundException)
        {
            return new ReadUpdate(UpdateId, null, $"{ex.GetType().Name}: {ex.Message}");
        }
    }
}

/// <summary>An update as read: <see cref="Update"/> when the library could read it, otherwise <see cref="Error"/> says why.</summary>
public readonly record struct ReadUpdate(long UpdateId, Update? Update, string? Error)
{
    public bool IsReadable => Update is not null;
}
