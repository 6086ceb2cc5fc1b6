using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ChatStats.Telegram.Http;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Requests;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace ChatStats.Telegram.Receiving;

/// <summary>
/// getUpdates whose answer is kept as Telegram sent it. The request is Telegram.Bot's <see cref="GetUpdatesRequest"/>
/// in the library's JSON, the HTTP client is the one <see cref="BotApiServiceCollectionExtensions.AddTelegramBotClient"/>
/// configures, and failures are the library's exceptions; only the answer is read here, in one pass that finds the
/// result array and cuts it into updates without building objects. The library's own read (SendRequest into a
/// JsonElement) costs about eight times as much per 100-update batch (PollPathBenchmarks in docs/benchmarks.md), and
/// into <see cref="Update"/>[] it would fail the whole batch over one update it cannot read.
/// </summary>
public sealed class UpdateSource(HttpClient http, BotApiConnection connection)
{
    private readonly string _url = new TelegramBotClientOptions(connection.Token, connection.BaseUrl).BaseRequestUrl + "/getUpdates";

    public async Task<UpdateBatch> GetUpdatesAsync(long? offset, int limit, TimeSpan timeout, IEnumerable<UpdateType> allowedUpdates, CancellationToken ct)
    {
        var request = new GetUpdatesRequest
        {
            Offset = offset is { } o ? checked((int)o) : null,
            Limit = limit,
            Timeout = (int)timeout.TotalSeconds,
            AllowedUpdates = allowedUpdates,
        };
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, JsonBotAPI.Options));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        byte[] body;
        HttpStatusCode status;
        try
        {
            using var response = await http.PostAsync(_url, content, ct).ConfigureAwait(false);
            status = response.StatusCode;
            body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new RequestException("Bot API Request timed out", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw new RequestException($"Bot API Service Failure: {ex.GetType().Name}: {connection.Redact(ex.Message)}", ex);
        }
        if (status != HttpStatusCode.OK)
        {
            throw Failure(body, status);
        }
        return Read(body, status);
    }

    /// <summary>The array under <c>result</c> of an <c>{"ok":true,"result":[…]}</c> answer, as an <see cref="UpdateBatch"/>.</summary>
    internal static UpdateBatch Read(byte[] body, HttpStatusCode status = HttpStatusCode.OK)
    {
        try
        {
            var reader = new Utf8JsonReader(body, UpdateBatch.ReaderOptions);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                var ok = false;
                UpdateBatch? batch = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("ok"u8))
                    {
                        reader.Read();
                        ok = reader.TokenType == JsonTokenType.True;
                    }
                    else if (reader.ValueTextEquals("result"u8) && reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                    {
                        batch = UpdateBatch.ReadArray(ref reader, body);
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
                if (ok && batch is not null)
                {
                    return batch;
                }
            }
        }
        catch (JsonException ex)
        {
            throw new RequestException("There was an exception during deserialization of the response", status, ex);
        }
        throw Failure(body, status);
    }

    /// <summary>Telegram's error answer as the library's exception (retry_after and migrate_to_chat_id included).</summary>
    private static RequestException Failure(byte[] body, HttpStatusCode status)
    {
        try
        {
            if (JsonSerializer.Deserialize<ApiResponse>(body, JsonBotAPI.Options) is { ErrorCode: not 0, Description: not null } error)
            {
                return new DefaultExceptionParser().Parse(error);
            }
        }
        catch (JsonException)
        {
            // Not Telegram's JSON: a proxy's error page, say.
        }
        return new RequestException($"getUpdates answered HTTP {(int)status} without a Bot API result", status);
    }
}
