using System.Text.Json;
using System.Text.Json.Serialization;
using Telegram.Bot.Requests;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Telegram.Receiving;

/// <summary>
/// getUpdates whose result stays JSON: the library makes the call and turns errors into its exceptions, and every
/// update is read on its own afterwards, so one it cannot read does not fail the batch (TelegramBots/Telegram.Bot#1487).
/// </summary>
internal sealed class GetRawUpdatesRequest() : RequestBase<JsonElement>("getUpdates")
{
    public int? Offset { get; set; }

    public int? Limit { get; set; }

    public int? Timeout { get; set; }

    [JsonPropertyName("allowed_updates")]
    public IEnumerable<UpdateType>? AllowedUpdates { get; set; }
}
