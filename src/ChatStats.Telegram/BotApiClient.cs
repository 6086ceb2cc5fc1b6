using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ChatStats.Telegram.Types;

namespace ChatStats.Telegram;

public sealed record BotApiClientOptions
{
    public required string Token { get; init; }
    public string ApiBaseUrl { get; init; } = "https://api.telegram.org";
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxConnectionsPerServer { get; init; } = 64;
}

/// <summary>
/// A thin Bot API client over one pooled <see cref="HttpClient"/>. Every failure surfaces as a
/// <see cref="BotApiException"/>; the token lives only in the base address and is scrubbed from any text we produce.
/// </summary>
public sealed class BotApiClient : IDisposable
{
    private static readonly TelegramJsonContext Json = TelegramJsonContext.Default;
    private readonly HttpClient _http;
    private readonly string _token;
    private readonly TimeSpan _requestTimeout;

    public BotApiClient(BotApiClientOptions options, HttpMessageHandler? handler = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Token);
        _token = options.Token;
        _requestTimeout = options.RequestTimeout;
        handler ??= new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            MaxConnectionsPerServer = options.MaxConnectionsPerServer,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.All,
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = new Uri($"{options.ApiBaseUrl.TrimEnd('/')}/bot{options.Token}/"),
            // Each call sets its own deadline; getUpdates needs one longer than its long-poll timeout.
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Replaces the bot token wherever it appears in <paramref name="text"/>.</summary>
    public string Redact(string text) => text.Replace(_token, "<token>", StringComparison.Ordinal);

    public Task<User> GetMeAsync(CancellationToken ct) =>
        SendAsync("getMe", null, Json.ApiResponseUser, _requestTimeout, ct);

    public Task<bool> DeleteWebhookAsync(bool dropPendingUpdates, CancellationToken ct) =>
        SendAsync("deleteWebhook", JsonBody(new DeleteWebhookRequest(dropPendingUpdates), Json.DeleteWebhookRequest), Json.ApiResponseBoolean, _requestTimeout, ct);

    /// <summary>
    /// Long-polls for updates. Updates that fail to parse come back as <see cref="UpdateKind.Malformed"/> with their raw
    /// JSON, and updates of unknown kinds keep theirs, so one odd update never loses the batch.
    /// </summary>
    public async Task<IReadOnlyList<Update>> GetUpdatesAsync(long? offset, int limit, TimeSpan timeout, IReadOnlyList<string> allowedUpdates, CancellationToken ct) =>
        [.. (await GetRawUpdatesAsync(offset, limit, timeout, allowedUpdates, ct).ConfigureAwait(false)).Select(u => u.Parse())];

    /// <summary>Long-polls for updates without parsing them: only their ids are read, the JSON is kept as bytes.</summary>
    public async Task<IReadOnlyList<RawUpdate>> GetRawUpdatesAsync(long? offset, int limit, TimeSpan timeout, IReadOnlyList<string> allowedUpdates, CancellationToken ct)
    {
        var request = new GetUpdatesRequest(offset, limit, (int)timeout.TotalSeconds, allowedUpdates);
        using var body = JsonBody(request, Json.GetUpdatesRequest);
        var bytes = await SendRawAsync("getUpdates", body, timeout + TimeSpan.FromSeconds(15), ct).ConfigureAwait(false);
        return SplitUpdates(bytes);
    }

    internal static IReadOnlyList<Update> ParseUpdates(ReadOnlySpan<byte> bytes) => [.. SplitUpdates(bytes.ToArray()).Select(u => u.Parse())];

    /// <summary>
    /// Cuts a getUpdates response into one slice per update with a single pass of the reader: no object model is built,
    /// which keeps the poller's work per update to a few hundred nanoseconds.
    /// </summary>
    internal static IReadOnlyList<RawUpdate> SplitUpdates(byte[] bytes)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new BotApiException("getUpdates", 0, "response is not a JSON object");
        }
        var ok = false;
        List<RawUpdate>? updates = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("ok"u8))
            {
                reader.Read();
                ok = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                updates = ReadElements(ref reader, bytes);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (!ok || updates is null)
        {
            using var doc = JsonDocument.Parse(bytes);
            ThrowIfError("getUpdates", doc.RootElement);
            throw new BotApiException("getUpdates", 0, "response has no result array");
        }
        return updates;
    }

    internal static IReadOnlyList<RawUpdate> SplitArray(byte[] bytes)
    {
        var reader = new Utf8JsonReader(bytes);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("expected a JSON array of updates");
        }
        return ReadElements(ref reader, bytes);
    }

    /// <summary>From just inside an array's '[', one slice per element up to the closing ']'.</summary>
    private static List<RawUpdate> ReadElements(ref Utf8JsonReader reader, byte[] bytes)
    {
        var updates = new List<RawUpdate>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = (int)reader.TokenStartIndex;
            var id = reader.TokenType == JsonTokenType.StartObject ? ReadUpdateId(ref reader) : SkipValue(ref reader);
            updates.Add(new RawUpdate(id, bytes.AsMemory(start, (int)reader.BytesConsumed - start)));
        }
        return updates;
    }

    /// <summary>Reads to the end of the update object, returning its update_id (0 if it has none).</summary>
    private static long ReadUpdateId(ref Utf8JsonReader reader)
    {
        long id = 0;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("update_id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number)
                {
                    reader.TryGetInt64(out id);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }
        return id;
    }

    private static long SkipValue(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return 0;
    }

    internal static Update ParseUpdate(long updateId, ReadOnlySpan<byte> json)
    {
        try
        {
            var update = JsonSerializer.Deserialize(json, Json.Update) ?? throw new JsonException("update is null");
            return update.Kind == UpdateKind.Unknown ? update with { RawJson = System.Text.Encoding.UTF8.GetString(json) } : update;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or OverflowException)
        {
            return new Update { UpdateId = updateId, RawJson = System.Text.Encoding.UTF8.GetString(json), ParseError = ex.Message };
        }
    }

    public Task<Message> SendMessageAsync(SendMessageRequest request, CancellationToken ct) =>
        SendAsync("sendMessage", JsonBody(request, Json.SendMessageRequest), Json.ApiResponseMessage, _requestTimeout, ct);

    public Task<bool> SendChatActionAsync(long chatId, string action, int? messageThreadId, CancellationToken ct) =>
        SendAsync("sendChatAction", JsonBody(new SendChatActionRequest(chatId, action, messageThreadId), Json.SendChatActionRequest), Json.ApiResponseBoolean, _requestTimeout, ct);

    public Task<Message> SendPhotoAsync(long chatId, InputFile photo, string? caption, string? parseMode, int? messageThreadId, CancellationToken ct) =>
        SendAsync("sendPhoto", Multipart(chatId, "photo", photo, caption, parseMode, messageThreadId), Json.ApiResponseMessage, _requestTimeout * 2, ct);

    public Task<Message> SendDocumentAsync(long chatId, InputFile document, string? caption, string? parseMode, int? messageThreadId, CancellationToken ct) =>
        SendAsync("sendDocument", Multipart(chatId, "document", document, caption, parseMode, messageThreadId), Json.ApiResponseMessage, _requestTimeout * 2, ct);

    public Task<bool> SetMyCommandsAsync(IReadOnlyList<BotCommand> commands, string? languageCode, CancellationToken ct) =>
        SendAsync("setMyCommands", JsonBody(new SetMyCommandsRequest(commands, languageCode), Json.SetMyCommandsRequest), Json.ApiResponseBoolean, _requestTimeout, ct);

    public Task<Chat> GetChatAsync(long chatId, CancellationToken ct) =>
        SendAsync("getChat", JsonBody(new ChatIdRequest(chatId), Json.ChatIdRequest), Json.ApiResponseChat, _requestTimeout, ct);

    public Task<bool> LeaveChatAsync(long chatId, CancellationToken ct) =>
        SendAsync("leaveChat", JsonBody(new ChatIdRequest(chatId), Json.ChatIdRequest), Json.ApiResponseBoolean, _requestTimeout, ct);

    public Task<ChatMember> GetChatMemberAsync(long chatId, long userId, CancellationToken ct) =>
        SendAsync("getChatMember", JsonBody(new GetChatMemberRequest(chatId, userId), Json.GetChatMemberRequest), Json.ApiResponseChatMember, _requestTimeout, ct);

    public async Task<IReadOnlyList<ChatMember>> GetChatAdministratorsAsync(long chatId, CancellationToken ct) =>
        await SendAsync("getChatAdministrators", JsonBody(new ChatIdRequest(chatId), Json.ChatIdRequest), Json.ApiResponseListChatMember, _requestTimeout, ct).ConfigureAwait(false);

    private static ByteArrayContent JsonBody<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static MultipartFormDataContent Multipart(long chatId, string field, InputFile file, string? caption, string? parseMode, int? messageThreadId)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(chatId.ToString(System.Globalization.CultureInfo.InvariantCulture)), "chat_id" },
        };
        if (caption is not null)
        {
            form.Add(new StringContent(caption), "caption");
        }
        if (parseMode is not null)
        {
            form.Add(new StringContent(parseMode), "parse_mode");
        }
        if (messageThreadId is not null)
        {
            form.Add(new StringContent(messageThreadId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)), "message_thread_id");
        }
        var fileContent = new ReadOnlyMemoryContent(file.Content);
        fileContent.Headers.ContentType = new MediaTypeHeaderValue(file.ContentType);
        form.Add(fileContent, field, file.FileName);
        return form;
    }

    private async Task<T> SendAsync<T>(string method, HttpContent? body, JsonTypeInfo<ApiResponse<T>> typeInfo, TimeSpan timeout, CancellationToken ct)
    {
        using (body)
        {
            var bytes = await SendRawAsync(method, body, timeout, ct).ConfigureAwait(false);
            ApiResponse<T>? response;
            try
            {
                response = JsonSerializer.Deserialize(bytes, typeInfo);
            }
            catch (JsonException ex)
            {
                throw new BotApiException(method, 0, $"unreadable response: {ex.Message}", inner: ex);
            }
            if (response is null || !response.Ok || response.Result is null)
            {
                throw new BotApiException(method, response?.ErrorCode ?? 0, response?.Description ?? "empty response",
                    response?.Parameters?.RetryAfter, response?.Parameters?.MigrateToChatId);
            }
            return response.Result;
        }
    }

    private async Task<byte[]> SendRawAsync(string method, HttpContent? body, TimeSpan timeout, CancellationToken ct)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, method) { Content = body };
        byte[] bytes;
        HttpStatusCode status;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeoutCts.Token).ConfigureAwait(false);
            status = response.StatusCode;
            bytes = await response.Content.ReadAsByteArrayAsync(timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            throw new BotApiException(method, 0, $"no answer within {timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            // HttpRequestException texts name host and port only, but scrub anyway: the token must never leak.
            throw new BotApiException(method, 0, Redact(ex.Message));
        }

        if (status != HttpStatusCode.OK)
        {
            // Telegram sends its JSON error body with the HTTP error status; read it to get retry_after and friends.
            ThrowFromBody(method, bytes, (int)status);
        }
        return bytes;
    }

    private static void ThrowFromBody(string method, byte[] bytes, int httpStatus)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            ThrowIfError(method, doc.RootElement);
        }
        catch (JsonException)
        {
            // Not Telegram's JSON: a proxy's HTML error page, say.
        }
        throw new BotApiException(method, httpStatus, $"HTTP {httpStatus} without a Bot API error body");
    }

    private static void ThrowIfError(string method, JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True)
        {
            return;
        }
        var code = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error_code", out var c) && c.TryGetInt32(out var ci) ? ci : 0;
        var description = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "malformed response";
        int? retryAfter = null;
        long? migrateTo = null;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            if (p.TryGetProperty("retry_after", out var r) && r.TryGetInt32(out var ri)) retryAfter = ri;
            if (p.TryGetProperty("migrate_to_chat_id", out var m) && m.TryGetInt64(out var mi)) migrateTo = mi;
        }
        throw new BotApiException(method, code, description, retryAfter, migrateTo);
    }

    public void Dispose() => _http.Dispose();
}
