using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using ChatStats.Telegram.Http;
using ChatStats.Telegram.Receiving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Telegram.Bot;

namespace ChatStats.Testing;

/// <summary>The webhook registered with setWebhook.</summary>
public sealed record FakeWebhook(string Url, string? SecretToken, int? MaxConnections, string? AllowedUpdates);

/// <summary>
/// Telegram's limits as the fake enforces them, on arrival and on its own clock: at most <see cref="PerGroup"/> sends to a
/// group in any <see cref="GroupWindow"/>, <see cref="PerChat"/> to any chat in any <see cref="ChatWindow"/>, and
/// <see cref="Global"/> overall in any <see cref="GlobalWindow"/>. A send beyond them is refused with 429 and a
/// retry_after that doubles while a chat keeps hitting it, as real Telegram lengthens penalties.
/// </summary>
public sealed record FakeLimits
{
    public int PerGroup { get; init; } = 20;
    public TimeSpan GroupWindow { get; init; } = TimeSpan.FromMinutes(1);
    public int PerChat { get; init; } = 3;
    public TimeSpan ChatWindow { get; init; } = TimeSpan.FromSeconds(3);
    public int Global { get; init; } = 30;
    public TimeSpan GlobalWindow { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>A message the fake accepted, with the text as a chat member would see it (tags stripped, entities decoded).</summary>
/// <summary>A send the fake refused with 400 for its text, with the text as it came.</summary>
public sealed record RefusedSend(string Method, long ChatId, string Error, string RawText);

public sealed record SentMessage(string Method, long ChatId, string Text, string RawText, string? ParseMode, int? ThreadId, int? ReplyTo, DateTimeOffset At, byte[]? File);

/// <summary>
/// An in-process Bot API on loopback that behaves like Telegram where ChatStats depends on it: long polling with
/// offsets (confirmed by the next call), 409 when a second poller arrives, 401 for a wrong token, 429 with retry_after,
/// 400 for HTML it cannot parse or text over 4096 characters, and a record of everything sent.
/// </summary>
public sealed class FakeBotApi : IAsyncDisposable
{
    // Deliberately not shaped like a real token (those have 35 characters after the colon).
    public const string Token = "123456:fake-token-for-tests";
    public const long BotId = 123456789;
    public const string BotUsername = "ChatStatsTestBot";

    private static readonly HashSet<string> AllowedTags = ["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span", "blockquote", "tg-emoji"];

    private readonly WebApplication _app;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    // Update ids are handed out in order, so update N lives at index N - 1 and everything before _head is confirmed.
    private readonly List<byte[]> _updates = [];
    private int _head;
    private readonly ConcurrentQueue<SentMessage> _sent = new();
    private readonly ConcurrentQueue<(long, string)> _chatActions = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _chatWaitUntil = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _lastSendPerChat = new();
    private readonly List<(string Method, int Code, string Description, int? RetryAfter, long? MigrateTo)> _failures = [];
    private readonly ConcurrentDictionary<long, List<JsonObject>> _admins = new();
    private TaskCompletionSource _updatesArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (CancellationTokenSource Cts, int Id)? _activePoll;
    private int _pollIds;
    private long _nextUpdateId = 1;
    private long _confirmedBelow;
    private int _messageIds = 1000;

    private FakeBotApi(WebApplication app, TimeProvider time)
    {
        _app = app;
        _time = time;
    }

    public string BaseUrl { get; private set; } = "";

    /// <summary>When set, a send to a chat sooner than this after the previous one is refused with 429, like Telegram's flood control.</summary>
    public TimeSpan? PerChatMinInterval { get; set; }

    /// <summary>When set, Telegram's limits are enforced on arrival (<see cref="LimitRefusals"/> counts the 429s they cause).</summary>
    public FakeLimits? Limits { get; set; }

    /// <summary>
    /// When set, each call's network delay on the way in and again on the way out, on the fake's clock: a send is stamped
    /// when it arrives, after the first. Random delays reorder concurrent calls, as a real network does.
    /// </summary>
    public (TimeSpan Min, TimeSpan Max)? NetworkDelay { get; set; }

    /// <summary>Sends refused with 429 because they broke <see cref="Limits"/>, by scope ("group", "chat", "global").</summary>
    public IReadOnlyDictionary<string, int> LimitRefusals => _limitRefusals;
    private readonly ConcurrentDictionary<string, int> _limitRefusals = new();
    private readonly Dictionary<long, Queue<DateTimeOffset>> _arrivals = [];
    private readonly Queue<DateTimeOffset> _globalArrivals = new();
    private readonly Dictionary<long, (int Strikes, DateTimeOffset Last)> _strikes = [];

    /// <summary>Every 429 the fake answered to a send, for whatever reason.</summary>
    public int TooManyRequests => _tooMany;
    private int _tooMany;

    /// <summary>Sends refused with 400 for their text (empty, markup Telegram cannot parse, too long, not UTF-8): a reply nobody saw.</summary>
    public IReadOnlyCollection<RefusedSend> Refused => _refused.ToArray();
    private readonly ConcurrentQueue<RefusedSend> _refused = new();

    public IReadOnlyCollection<SentMessage> Sent => _sent.ToArray();

    /// <summary>Every sendChatAction: the chat and the action ("typing").</summary>
    public IReadOnlyCollection<(long ChatId, string Action)> ChatActions => _chatActions.ToArray();

    /// <summary>Sends that arrived while the chat was told to wait (retry_after): must stay zero.</summary>
    public int SendsInsideRetryWindow { get; private set; }

    public int GetUpdatesCalls { get; private set; }

    /// <summary>The webhook setWebhook registered, or null (then getUpdates works).</summary>
    public FakeWebhook? Webhook { get; private set; }

    /// <summary>The allowed_updates of the last getUpdates, as the JSON the client sent.</summary>
    public string? LastAllowedUpdates { get; private set; }

    /// <summary>
    /// A Telegram.Bot client wired as ChatStats wires it (AddTelegramBotClient: bounded pool, deadlines, no 429 retries
    /// of its own), pointed at this fake. Disposed with the fake.
    /// </summary>
    public ITelegramBotClient CreateClient(string? token = null, TimeSpan? pollTimeout = null, Action<ILoggingBuilder>? logging = null, TimeSpan? requestTimeout = null) =>
        Services(token, pollTimeout, logging, requestTimeout).GetRequiredService<ITelegramBotClient>();

    /// <summary>The long-poll side of the same wiring: getUpdates over the same kind of client.</summary>
    public UpdateSource CreateUpdateSource(string? token = null, TimeSpan? pollTimeout = null) =>
        Services(token, pollTimeout, null, null).GetRequiredService<UpdateSource>();

    private ServiceProvider Services(string? token, TimeSpan? pollTimeout, Action<ILoggingBuilder>? logging, TimeSpan? requestTimeout)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => logging?.Invoke(b));
        services.AddTelegramBotClient(_ => new BotApiConnection
        {
            Token = token ?? Token,
            BaseUrl = BaseUrl,
            PollTimeout = pollTimeout ?? TimeSpan.FromSeconds(25),
            RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30),
        });
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    private readonly ConcurrentBag<ServiceProvider> _providers = [];

    /// <summary>Chats the bot left with leaveChat, in order.</summary>
    public IReadOnlyCollection<long> LeftChats => _left.ToArray();
    private readonly ConcurrentQueue<long> _left = new();

    public int ConflictsAnswered { get; private set; }

    public long ConfirmedBelow
    {
        get
        {
            lock (_lock)
            {
                return _confirmedBelow;
            }
        }
    }

    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _updates.Count - _head;
            }
        }
    }

    public long LastUpdateId => Interlocked.Read(ref _nextUpdateId) - 1;

    public static async Task<FakeBotApi> StartAsync(TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeBotApi(app, time ?? TimeProvider.System);
        app.MapMethods("/bot{token}/{method}", ["GET", "POST"], fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = app.Urls.First();
        return fake;
    }

    /// <summary>Queues updates; each JSON object is given the next update_id.</summary>
    public long[] AddUpdates(IEnumerable<string> objectsWithoutId)
    {
        var ids = new List<long>();
        lock (_lock)
        {
            foreach (var json in objectsWithoutId)
            {
                var id = _nextUpdateId++;
                var body = json.TrimStart();
                if (!body.StartsWith('{'))
                {
                    throw new ArgumentException("each update must be a JSON object", nameof(objectsWithoutId));
                }
                var rest = body[1..].TrimStart();
                var text = rest.StartsWith('}') ? $"{{\"update_id\":{id}}}" : $"{{\"update_id\":{id},{rest}";
                _updates.Add(Encoding.UTF8.GetBytes(text));
                ids.Add(id);
            }
            _updatesArrived.TrySetResult();
            _updatesArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        return [.. ids];
    }

    public long AddUpdate(string objectWithoutId) => AddUpdates([objectWithoutId])[0];

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> fail with this error.</summary>
    public void FailNext(string method, int code, string description, int? retryAfter = null, int times = 1, long? migrateTo = null)
    {
        lock (_lock)
        {
            for (var i = 0; i < times; i++)
            {
                _failures.Add((method, code, description, retryAfter, migrateTo));
            }
        }
    }

    public void SetAdministrators(long chatId, params (long UserId, string FirstName, string Status)[] admins) =>
        _admins[chatId] = [.. admins.Select(a => new JsonObject
        {
            ["status"] = a.Status,
            ["user"] = new JsonObject { ["id"] = a.UserId, ["is_bot"] = false, ["first_name"] = a.FirstName },
        })];

    /// <summary>Waits until every queued update has been confirmed by a later getUpdates.</summary>
    public Task WaitUntilConfirmedAsync(long updateId, TimeSpan timeout) =>
        Eventually.TrueAsync(() => ConfirmedBelow > updateId,
            () => $"update {updateId} to be confirmed (confirmed below {ConfirmedBelow}, {PendingCount} pending)", timeout);

    public async Task<IReadOnlyList<SentMessage>> WaitForSentAsync(Func<SentMessage, bool> match, int count, TimeSpan timeout)
    {
        await Eventually.TrueAsync(() => _sent.Count(match) >= count,
            () => $"{count} matching sends, saw {_sent.Count(match)}: {string.Join(" | ", _sent.Select(s => s.Text))}", timeout);
        return [.. _sent.Where(match)];
    }

    private async Task HandleAsync(HttpContext context, string token, string method)
    {
        if (token != Token)
        {
            await ErrorAsync(context, 401, "Unauthorized");
            return;
        }
        var args = await ReadArgumentsAsync(context.Request);
        (string Method, int Code, string Description, int? RetryAfter, long? MigrateTo)? failure = null;
        lock (_lock)
        {
            var index = _failures.FindIndex(f => f.Method == method);
            if (index >= 0)
            {
                failure = _failures[index];
                _failures.RemoveAt(index);
            }
        }
        if (failure is { } f)
        {
            if (f.Code == 429 && f.RetryAfter is { } wait && method.StartsWith("send", StringComparison.Ordinal) && Long(args, "chat_id") is { } waitingChat)
            {
                // From now on a send to this chat inside the wait is a violation, as it would be on Telegram.
                _chatWaitUntil[waitingChat] = _time.GetUtcNow() + TimeSpan.FromSeconds(wait);
                Interlocked.Increment(ref _tooMany);
            }
            await ErrorAsync(context, f.Code, f.Description, f.RetryAfter, f.MigrateTo);
            return;
        }

        switch (method)
        {
            case "getMe":
                await OkAsync(context, new JsonObject { ["id"] = BotId, ["is_bot"] = true, ["first_name"] = "ChatStats", ["username"] = BotUsername, ["can_join_groups"] = true });
                break;
            case "setMyCommands" or "sendChatAction":
                if (method == "sendChatAction")
                {
                    _chatActions.Enqueue((Long(args, "chat_id") ?? 0, args.GetValueOrDefault("action") ?? ""));
                }
                await OkAsync(context, JsonValue.Create(true));
                break;
            case "setWebhook":
                lock (_lock)
                {
                    Webhook = new FakeWebhook(args.GetValueOrDefault("url") ?? "", args.GetValueOrDefault("secret_token"),
                        (int?)Long(args, "max_connections"), args.GetValueOrDefault("allowed_updates"));
                }
                await OkAsync(context, JsonValue.Create(true));
                break;
            case "deleteWebhook":
                lock (_lock)
                {
                    Webhook = null;
                }
                await OkAsync(context, JsonValue.Create(true));
                break;
            case "getWebhookInfo":
                var hook = Webhook;
                await OkAsync(context, new JsonObject
                {
                    ["url"] = hook?.Url ?? "",
                    ["has_custom_certificate"] = false,
                    ["pending_update_count"] = PendingCount,
                    ["max_connections"] = hook?.MaxConnections ?? 40,
                });
                break;
            case "getUpdates":
                await GetUpdatesAsync(context, args);
                break;
            case "sendMessage" or "sendPhoto" or "sendDocument":
                await SendAsync(context, method, args);
                break;
            case "leaveChat":
                _left.Enqueue(Long(args, "chat_id") ?? 0);
                await OkAsync(context, JsonValue.Create(true));
                break;
            case "getChat":
                await OkAsync(context, new JsonObject { ["id"] = Long(args, "chat_id") ?? 0, ["type"] = "supergroup", ["title"] = "Fake chat" });
                break;
            case "getChatAdministrators":
                var admins = _admins.GetValueOrDefault(Long(args, "chat_id") ?? 0) ?? [];
                await OkAsync(context, new JsonArray([.. admins.Select(a => a.DeepClone())]));
                break;
            case "getChatMember":
                var chatId = Long(args, "chat_id") ?? 0;
                var userId = Long(args, "user_id") ?? 0;
                var member = _admins.GetValueOrDefault(chatId)?.FirstOrDefault(a => a["user"]!["id"]!.GetValue<long>() == userId);
                await OkAsync(context, member?.DeepClone() ?? new JsonObject
                {
                    ["status"] = "member",
                    ["user"] = new JsonObject { ["id"] = userId, ["is_bot"] = false, ["first_name"] = "Member" },
                });
                break;
            default:
                await ErrorAsync(context, 404, "Not Found");
                break;
        }
    }

    private async Task GetUpdatesAsync(HttpContext context, Dictionary<string, string> args)
    {
        GetUpdatesCalls++;
        if (Webhook is { } hook)
        {
            ConflictsAnswered++;
            await ErrorAsync(context, 409, $"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first ({hook.Url.Length} chars)");
            return;
        }
        LastAllowedUpdates = args.GetValueOrDefault("allowed_updates");
        var offset = Long(args, "offset");
        var limit = Math.Clamp((int)(Long(args, "limit") ?? 100), 1, 100);
        var timeout = TimeSpan.FromSeconds(Math.Clamp(Long(args, "timeout") ?? 0, 0, 50));

        CancellationTokenSource mine;
        int pollId;
        lock (_lock)
        {
            // Telegram lets only one getUpdates run per bot: a new one terminates the one in flight with 409.
            if (_activePoll is { } previous)
            {
                previous.Cts.Cancel();
            }
            mine = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            pollId = ++_pollIds;
            _activePoll = (mine, pollId);
            if (offset is { } o)
            {
                _head = (int)Math.Clamp(o - 1, _head, _updates.Count);
                _confirmedBelow = Math.Max(_confirmedBelow, o);
            }
        }

        try
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                byte[]? response = null;
                Task arrived;
                lock (_lock)
                {
                    arrived = _updatesArrived.Task;
                    var batch = _updates.GetRange(_head, Math.Min(limit, _updates.Count - _head));
                    if (batch.Count > 0 || DateTime.UtcNow >= deadline)
                    {
                        response = Serialize(batch);
                    }
                }
                if (response is not null)
                {
                    context.Response.ContentType = "application/json";
                    await context.Response.Body.WriteAsync(response, context.RequestAborted);
                    return;
                }
                var remaining = deadline - DateTime.UtcNow;
                try
                {
                    await Task.WhenAny(arrived, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, mine.Token));
                }
                catch (OperationCanceledException)
                {
                }
                if (mine.IsCancellationRequested)
                {
                    if (!context.RequestAborted.IsCancellationRequested)
                    {
                        ConflictsAnswered++;
                        await ErrorAsync(context, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
                    }
                    return;
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                if (_activePoll is { } active && active.Id == pollId)
                {
                    _activePoll = null;
                }
            }
            mine.Dispose();
        }
    }

    private static byte[] Serialize(List<byte[]> batch)
    {
        using var body = new MemoryStream();
        body.Write("{\"ok\":true,\"result\":["u8);
        for (var i = 0; i < batch.Count; i++)
        {
            if (i > 0)
            {
                body.WriteByte((byte)',');
            }
            body.Write(batch[i]);
        }
        body.Write("]}"u8);
        return body.ToArray();
    }

    private async Task DelayAsync()
    {
        if (NetworkDelay is { } d)
        {
            var spread = (d.Max - d.Min).Ticks;
            await Task.Delay(d.Min + TimeSpan.FromTicks(spread <= 0 ? 0 : Random.Shared.NextInt64(spread)), _time);
        }
    }

    private async Task SendAsync(HttpContext context, string method, Dictionary<string, string> args)
    {
        await DelayAsync();
        await ArriveAsync(context, method, args);
        await DelayAsync();
    }

    /// <summary>
    /// Refuses a send beyond <see cref="Limits"/> as it arrives; records it against them otherwise. A chat that keeps
    /// hitting the limits waits longer each time, as on Telegram.
    /// </summary>
    private int? BreaksLimits(long chatId, DateTimeOffset now)
    {
        if (Limits is not { } limits)
        {
            return null;
        }
        lock (_arrivals)
        {
            if (!_arrivals.TryGetValue(chatId, out var arrivals))
            {
                arrivals = new Queue<DateTimeOffset>();
                _arrivals[chatId] = arrivals;
            }
            var window = chatId < 0 ? limits.GroupWindow : limits.ChatWindow;
            var limit = chatId < 0 ? limits.PerGroup : limits.PerChat;
            var keep = window > limits.ChatWindow ? window : limits.ChatWindow;
            while (arrivals.Count > 0 && now - arrivals.Peek() >= keep)
            {
                arrivals.Dequeue();
            }
            while (_globalArrivals.Count > 0 && now - _globalArrivals.Peek() >= limits.GlobalWindow)
            {
                _globalArrivals.Dequeue();
            }
            string? scope = null;
            var wait = TimeSpan.Zero;
            // A group is also a chat: both its limits apply.
            var inChatWindow = arrivals.Where(a => now - a < limits.ChatWindow).ToList();
            if (inChatWindow.Count >= limits.PerChat)
            {
                (scope, wait) = ("chat", inChatWindow[^limits.PerChat] + limits.ChatWindow - now);
            }
            if (chatId < 0 && arrivals.Count(a => now - a < window) is var n && n >= limit)
            {
                var inWindow = arrivals.Where(a => now - a < window).ToList();
                (scope, wait) = ("group", inWindow[^limit] + window - now);
            }
            if (scope is null && _globalArrivals.Count >= limits.Global)
            {
                (scope, wait) = ("global", _globalArrivals.ToArray()[^limits.Global] + limits.GlobalWindow - now);
            }
            if (scope is null)
            {
                arrivals.Enqueue(now);
                _globalArrivals.Enqueue(now);
                return null;
            }
            _limitRefusals.AddOrUpdate(scope, 1, (_, c) => c + 1);
            var strikes = _strikes.TryGetValue(chatId, out var s) && now - s.Last < TimeSpan.FromMinutes(1) ? s.Strikes + 1 : 1;
            _strikes[chatId] = (strikes, now);
            var seconds = (int)Math.Min(3600, Math.Max(1, Math.Ceiling(wait.TotalSeconds)) * (1 << Math.Min(strikes - 1, 10)));
            return seconds;
        }
    }

    private async Task ArriveAsync(HttpContext context, string method, Dictionary<string, string> args)
    {
        var chatId = Long(args, "chat_id") ?? 0;
        var now = _time.GetUtcNow();
        if (_chatWaitUntil.TryGetValue(chatId, out var until) && now < until)
        {
            SendsInsideRetryWindow++;
            Interlocked.Increment(ref _tooMany);
            await ErrorAsync(context, 429, $"Too Many Requests: retry after {(int)Math.Ceiling((until - now).TotalSeconds)}", (int)Math.Ceiling((until - now).TotalSeconds));
            return;
        }
        if (BreaksLimits(chatId, now) is { } retryAfter)
        {
            _chatWaitUntil[chatId] = now + TimeSpan.FromSeconds(retryAfter);
            Interlocked.Increment(ref _tooMany);
            await ErrorAsync(context, 429, $"Too Many Requests: retry after {retryAfter}", retryAfter);
            return;
        }
        if (PerChatMinInterval is { } interval && _lastSendPerChat.TryGetValue(chatId, out var last) && now - last < interval)
        {
            var wait = (int)Math.Max(1, Math.Ceiling((interval - (now - last)).TotalSeconds));
            _chatWaitUntil[chatId] = now + TimeSpan.FromSeconds(wait);
            Interlocked.Increment(ref _tooMany);
            await ErrorAsync(context, 429, $"Too Many Requests: retry after {wait}", wait);
            return;
        }

        var textKey = method == "sendMessage" ? "text" : "caption";
        var raw = args.GetValueOrDefault(textKey) ?? "";
        var parseMode = args.GetValueOrDefault("parse_mode");
        Task RefuseAsync(string description)
        {
            _refused.Enqueue(new RefusedSend(method, chatId, description, raw));
            return ErrorAsync(context, 400, description);
        }
        if (method == "sendMessage" && raw.Length == 0)
        {
            await RefuseAsync("Bad Request: message text is empty");
            return;
        }
        if (!IsValidUtf16(raw))
        {
            // The Bot API reads UTF-8; a lone surrogate has no UTF-8 form.
            await RefuseAsync("Bad Request: strings must be encoded in UTF-8");
            return;
        }
        string visible;
        if (string.Equals(parseMode, "HTML", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseHtml(raw, out visible, out var error))
            {
                await RefuseAsync($"Bad Request: can't parse entities: {error}");
                return;
            }
        }
        else
        {
            visible = raw;
        }
        var max = method == "sendMessage" ? 4096 : 1024;
        if (visible.Length > max)
        {
            await RefuseAsync(method == "sendMessage" ? "Bad Request: message is too long" : "Bad Request: message caption is too long");
            return;
        }
        byte[]? file = null;
        if (method != "sendMessage" && context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync();
            // Either the file under the field's own name, or "attach://<part>" naming the part that holds it, as Telegram allows.
            var field = method == "sendPhoto" ? "photo" : "document";
            var upload = form[field].ToString() is ['a', 't', 't', 'a', 'c', 'h', ':', '/', '/', .. var part] ? form.Files.GetFile(part) : form.Files.GetFile(field);
            if (upload is null)
            {
                await ErrorAsync(context, 400, "Bad Request: there is no file in the request");
                return;
            }
            using var ms = new MemoryStream();
            await upload.CopyToAsync(ms);
            file = ms.ToArray();
        }
        _lastSendPerChat[chatId] = now;
        var threadId = (int?)Long(args, "message_thread_id");
        int? replyTo = null;
        if (args.TryGetValue("reply_parameters", out var reply) && JsonNode.Parse(reply) is JsonObject rp && rp["message_id"] is { } mid)
        {
            replyTo = mid.GetValue<int>();
        }
        _sent.Enqueue(new SentMessage(method, chatId, visible, raw, parseMode, threadId, replyTo, now, file));
        var messageId = Interlocked.Increment(ref _messageIds);
        await OkAsync(context, new JsonObject
        {
            ["message_id"] = messageId,
            ["date"] = now.ToUnixTimeSeconds(),
            ["chat"] = new JsonObject { ["id"] = chatId, ["type"] = chatId < 0 ? "supergroup" : "private" },
            ["from"] = new JsonObject { ["id"] = BotId, ["is_bot"] = true, ["first_name"] = "ChatStats", ["username"] = BotUsername },
            [method == "sendMessage" ? "text" : "caption"] = visible,
        });
    }

    private static bool IsValidUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Telegram's HTML mode: only its tags, balanced, and &amp;-entities it knows; anything else is a 400.</summary>
    internal static bool TryParseHtml(string html, out string visible, out string error)
    {
        var sb = new StringBuilder(html.Length);
        var open = new Stack<string>();
        var bytes = 0;
        for (var i = 0; i < html.Length; i++)
        {
            var c = html[i];
            if (c == '<')
            {
                var close = html.IndexOf('>', i);
                if (close < 0)
                {
                    visible = "";
                    error = $"Unsupported start tag \"\" at byte offset {bytes}";
                    return false;
                }
                var tag = html[(i + 1)..close];
                var closing = tag.StartsWith('/');
                var name = (closing ? tag[1..] : tag).Split(' ', 2)[0].ToLowerInvariant();
                if (!AllowedTags.Contains(name))
                {
                    visible = "";
                    error = $"Unsupported start tag \"{name}\" at byte offset {bytes}";
                    return false;
                }
                if (closing)
                {
                    if (open.Count == 0 || open.Pop() != name)
                    {
                        visible = "";
                        error = $"Unexpected end tag at byte offset {bytes}";
                        return false;
                    }
                }
                else
                {
                    open.Push(name);
                }
                bytes += Encoding.UTF8.GetByteCount(html.AsSpan(i, close - i + 1));
                i = close;
            }
            else if (c == '>')
            {
                visible = "";
                error = $"Unsupported start tag at byte offset {bytes}";
                return false;
            }
            else if (c == '&')
            {
                var semi = html.IndexOf(';', i);
                var entity = semi > i ? html[(i + 1)..semi] : "";
                string? decoded = entity switch
                {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    ['#', 'x' or 'X', .. var hex] when int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var h) => char.ConvertFromUtf32(h),
                    ['#', .. var dec] when int.TryParse(dec, NumberStyles.None, CultureInfo.InvariantCulture, out var d) => char.ConvertFromUtf32(d),
                    _ => null,
                };
                if (decoded is null)
                {
                    visible = "";
                    error = $"Character entity expected at byte offset {bytes}";
                    return false;
                }
                sb.Append(decoded);
                bytes += semi - i + 1;
                i = semi;
            }
            else
            {
                sb.Append(c);
                bytes += char.IsSurrogate(c) ? 2 : Encoding.UTF8.GetByteCount([c]);
            }
        }
        if (open.Count > 0)
        {
            visible = "";
            error = $"Can't find end tag corresponding to start tag \"{open.Peek()}\"";
            return false;
        }
        visible = sb.ToString();
        error = "";
        return true;
    }

    private static async Task<Dictionary<string, string>> ReadArgumentsAsync(HttpRequest request)
    {
        var args = new Dictionary<string, string>();
        foreach (var (key, value) in request.Query)
        {
            args[key] = value.ToString();
        }
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            foreach (var (key, value) in form)
            {
                args[key] = value.ToString();
            }
        }
        else if (request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true)
        {
            var node = await JsonNode.ParseAsync(request.Body);
            if (node is JsonObject obj)
            {
                foreach (var (key, value) in obj)
                {
                    args[key] = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
                }
            }
        }
        return args;
    }

    private static long? Long(Dictionary<string, string> args, string key) =>
        args.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : null;

    private static Task OkAsync(HttpContext context, JsonNode result)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(new JsonObject { ["ok"] = true, ["result"] = result }.ToJsonString());
    }

    private static Task ErrorAsync(HttpContext context, int code, string description, int? retryAfter = null, long? migrateTo = null)
    {
        var body = new JsonObject { ["ok"] = false, ["error_code"] = code, ["description"] = description };
        if (retryAfter is not null || migrateTo is not null)
        {
            var parameters = new JsonObject();
            if (retryAfter is { } r)
            {
                parameters["retry_after"] = r;
            }
            if (migrateTo is { } m)
            {
                parameters["migrate_to_chat_id"] = m;
            }
            body["parameters"] = parameters;
        }
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
