using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using ChatStats.Bot.Data;
using ChatStats.Bot.Ingest;
using Npgsql;

namespace ChatStats.Bot.Import;

/// <summary>A file that cannot be imported, with what is wrong with it in words an operator can act on.</summary>
internal sealed class ImportException(string message, Exception? inner = null) : Exception(message, inner);

/// <param name="Messages">Messages read (service actions are not messages).</param>
/// <param name="Actions">Service actions read (a join, a title change), of which <paramref name="Events"/> were recorded.</param>
/// <param name="Skipped">Entries of the chat's list that could not be imported (the rest were), with the first few named.</param>
internal sealed record ImportedChat(long ChatId, string Title, string Type, long Messages, long Added, long Actions, long Events, SkippedMessages Skipped);

/// <param name="Skipped">Chats left out whole, each with why (not a group, no usable id).</param>
internal sealed record ImportSummary(IReadOnlyList<ImportedChat> Chats, IReadOnlyList<string> Skipped, long Messages, long Added, TimeSpan Elapsed)
{
    public double PerSecond => Elapsed.TotalSeconds > 0 ? Messages / Elapsed.TotalSeconds : 0;

    public long SkippedMessages => Chats.Sum(c => c.Skipped.Count);
}

/// <summary>Messages an import left out: how many, and the first few by id (or position) with what was wrong.</summary>
internal sealed class SkippedMessages
{
    private const int Named = 5;
    private readonly List<string> _first = [];

    public long Count { get; private set; }

    public IReadOnlyList<string> First => _first;

    public void Add(string what)
    {
        Count++;
        if (_first.Count < Named)
        {
            _first.Add(what);
        }
    }

    public override string ToString() => Count == 0 ? "none"
        : Count <= _first.Count ? string.Join("; ", _first)
        : $"{string.Join("; ", _first)}; and {Count - _first.Count:N0} more";
}

/// <summary>Progress as the import goes: the chat, messages read, bytes read of the file.</summary>
internal readonly record struct ImportProgress(string Chat, long Messages, long BytesRead, long BytesTotal);

/// <summary>
/// Imports a Telegram Desktop export — <c>result.json</c> of one chat, or of a whole account with <c>chats.list</c> — as
/// a stream: the file is read token by token and written in batches while the next batch is parsed, so a 2 GB export
/// needs a few megabytes. Messages are upserted by (chat_id, message_id) through the same writer live updates use:
/// imported and live history merge without duplicates and the rollups move exactly with the rows added.
/// </summary>
internal sealed class ExportImporter(NpgsqlDataSource dataSource, IngestWriter writer, bool storeText, int batchSize = 10_000, int writers = 3, TimeProvider? time = null)
{
    // A message's own depth is checked by the file's reader; parsing it alone must not refuse what the file allowed.
    private static readonly JsonDocumentOptions MessageOptions = new() { MaxDepth = JsonTokenStream.MaxDepth };

    public async Task<ImportSummary> ImportAsync(string path, IProgress<ImportProgress>? progress, CancellationToken ct)
    {
        var file = ResolveFile(path);
        var started = Stopwatch.GetTimestamp();
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var json = new JsonTokenStream(stream);
        var chats = new List<ImportedChat>();
        var skipped = new List<string>();
        var total = stream.Length;
        try
        {
            if (!json.Read() || json.Token != JsonTokenType.StartObject)
            {
                throw new ImportException($"{file} is not a Telegram Desktop export: it does not start with a JSON object.");
            }
            // Fields seen so far in each open object, by depth: a chat's name, type and id come before its messages.
            var fields = new Dictionary<int, Dictionary<string, string>> { [1] = new(StringComparer.Ordinal) };
            while (json.Read())
            {
                if (json.Token == JsonTokenType.StartObject)
                {
                    fields[json.Depth + 1] = new Dictionary<string, string>(StringComparer.Ordinal);
                    continue;
                }
                if (json.Token != JsonTokenType.PropertyName)
                {
                    continue;
                }
                var depth = json.Depth;
                var name = json.Text!;
                if (!json.Read())
                {
                    break;
                }
                if (name == "messages" && json.Token == JsonTokenType.StartArray)
                {
                    var known = fields.GetValueOrDefault(depth) ?? [];
                    var result = await ImportChatAsync(json, known, total, progress, ct);
                    if (result.Chat is { } chat)
                    {
                        chats.Add(chat);
                    }
                    else
                    {
                        skipped.Add(result.Skipped!);
                    }
                }
                else if (json.Token is JsonTokenType.String or JsonTokenType.Number && name is "name" or "type" or "id")
                {
                    if (fields.TryGetValue(depth, out var at))
                    {
                        at[name] = json.Text!;
                    }
                }
                else if (json.Token == JsonTokenType.StartObject)
                {
                    fields[json.Depth + 1] = new Dictionary<string, string>(StringComparer.Ordinal);
                }
            }
        }
        catch (JsonNestingException ex)
        {
            await KeepWhatWasWrittenAsync(ct);
            throw new ImportException($"{file} is not a Telegram Desktop export: near byte {json.BytesRead:N0} its {ex.Message} (an export's are a few levels deep).{Kept()}", ex);
        }
        catch (JsonException ex) when (json.BytesRead >= total && ex.Message.Contains("depth", StringComparison.Ordinal))
        {
            await KeepWhatWasWrittenAsync(ct);
            throw new ImportException($"{file} ends before its JSON does: the file is truncated (was the export interrupted, or the copy incomplete?). Export it again.{Kept()}", ex);
        }
        catch (JsonException ex)
        {
            await KeepWhatWasWrittenAsync(ct);
            throw new ImportException($"{file} is not valid JSON near byte {json.BytesRead:N0} ({ex.Message}). Export again from Telegram Desktop with the format set to JSON.{Kept()}", ex);
        }
        if (chats.Count == 0 && skipped.Count == 0)
        {
            throw new ImportException($"{file} holds no chat history. Use Telegram Desktop's \"Export chat history\" (or Settings → Advanced → Export Telegram data) with the format set to JSON, and give the result.json it writes.");
        }
        return new ImportSummary(chats, skipped, chats.Sum(c => c.Messages), chats.Sum(c => c.Added), Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Messages written by batches before the import stopped (they stay: importing again does not duplicate them).</summary>
    private long _written;

    private string Kept() => _written == 0 ? "" : $" The {_written:N0} messages and actions read before that point are imported; importing the fixed file adds only what is missing.";

    /// <summary>
    /// An import that stops part-way leaves its batches in, with the members' totals still pending: fold them now, so the
    /// statistics add up at once rather than at the next recurring fold.
    /// </summary>
    private async Task KeepWhatWasWrittenAsync(CancellationToken ct)
    {
        if (_written > 0 && !ct.IsCancellationRequested)
        {
            await RollupTriggers.FoldPendingAsync(dataSource, ct);
        }
    }

    private static string ResolveFile(string path)
    {
        if (Directory.Exists(path))
        {
            var inside = Path.Combine(path, "result.json");
            return File.Exists(inside) ? inside : throw new ImportException($"{path} is a folder without result.json in it. Give the export's result.json.");
        }
        return File.Exists(path) ? path : throw new ImportException($"{path} does not exist.");
    }

    private async Task<(ImportedChat? Chat, string? Skipped)> ImportChatAsync(
        JsonTokenStream json, Dictionary<string, string> fields, long total, IProgress<ImportProgress>? progress, CancellationToken ct)
    {
        var title = fields.GetValueOrDefault("name") ?? "";
        var type = fields.GetValueOrDefault("type") ?? "";
        // Telegram's chat ids are positive and below 10^12; anything else would wrap around in the Bot API id below.
        if (!fields.TryGetValue("id", out var rawId) || !long.TryParse(rawId, NumberStyles.None, CultureInfo.InvariantCulture, out var exportId)
            || exportId is <= 0 or >= ExportMapper.MaxExportChatId)
        {
            json.SkipValue();
            return (null, rawId is null
                ? $"{title} ({type}): its messages have no chat id beside them; was the file edited? Export the chat again"
                : $"{title} ({type}): its id \"{rawId}\" is not a Telegram chat id; was the file edited? Export the chat again");
        }
        (long Id, string Type)? target = type switch
        {
            "private_supergroup" or "public_supergroup" => (-(1_000_000_000_000 + exportId), "supergroup"),
            "private_group" => (-exportId, "group"),
            _ => null,
        };
        if (target is not { } chat)
        {
            json.SkipValue();
            return (null, $"{title} ({type}): not a group; ChatStats counts groups");
        }

        var recorded = await RecordedAsync(chat.Id, ct);
        // Batches are written by several writers at once (PostgreSQL does the work; one writer leaves a core idle).
        // Rows every batch would touch are kept out of the concurrent writers, so that they never wait on each other's
        // row locks: the chat row goes with the first batch, and members (new ones, or a changed name) go through one
        // writer of their own, in the order they were read, so the name history stays in order too. Batches end on
        // an hour's boundary, so no two share a rollup row; one whose messages and hours are all new to the chat is
        // written with plain inserts (see IngestWriter.WriteBulkAsync).
        var batches = Channel.CreateBounded<(IngestBatch Batch, bool Fresh)>(new BoundedChannelOptions(writers * 2) { SingleWriter = true });
        var merging = false;
        var members = Channel.CreateBounded<IngestBatch>(new BoundedChannelOptions(writers * 2) { SingleWriter = true, SingleReader = true });
        var first = true;
        var writing = new List<Task>();
        var firstWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A writer that fails closes both channels, so reading stops at once and the failure is what the import reports.
        Task Writer(Func<Task> write) => Task.Run(async () =>
        {
            try
            {
                await write();
            }
            catch (Exception ex)
            {
                batches.Writer.TryComplete(ex);
                members.Writer.TryComplete(ex);
                firstWritten.TrySetResult();
                throw;
            }
        }, ct);
        for (var w = 0; w < writers; w++)
        {
            var index = w;
            writing.Add(Writer(async () =>
            {
                if (index > 0)
                {
                    await firstWritten.Task;
                }
                await foreach (var (batch, fresh) in batches.Reader.ReadAllAsync(ct))
                {
                    if (!await writer.WriteBulkAsync(batch, fresh, ct))
                    {
                        // Live updates are landing where the export is: merge from here on.
                        Volatile.Write(ref merging, true);
                    }
                    firstWritten.TrySetResult();
                }
                firstWritten.TrySetResult();
            }));
        }
        writing.Add(Writer(async () =>
        {
            await foreach (var batch in members.Reader.ReadAllAsync(ct))
            {
                await writer.WriteBulkAsync(batch, fresh: false, ct);
            }
        }));

        long messages = 0, actions = 0, events = 0, position = 0;
        var skipped = new SkippedMessages();
        var seen = new MessageIdSet();
        var latest = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime + ExportMapper.ClockSkew;
        var current = new IngestBatch();
        var names = new Dictionary<long, string>();
        var replies = new ReplySenders();
        var lastReport = Stopwatch.GetTimestamp();
        // The highest message id and hour of the batches before: a batch reaching back to them is no longer fresh.
        var (idsBefore, hoursBefore) = (int.MinValue, DateTime.MinValue);
        DateTime? cutAt = null;
        async Task FlushAsync()
        {
            if (!first)
            {
                current.Chats.Clear();
            }
            first = false;
            var changed = new IngestBatch();
            // In reading order, which is the export's time order: each change of a member's name is kept once.
            foreach (var u in current.Users)
            {
                if (!names.TryGetValue(u.Id, out var n) || n != u.FirstName)
                {
                    names[u.Id] = u.FirstName;
                    changed.Users.Add(u);
                }
            }
            current.Users.Clear();
            if (changed.Users.Count > 0)
            {
                await members.Writer.WriteAsync(changed, ct);
            }
            var span = MessageSpan.Of(current.Messages);
            var fresh = span is { } own && !Volatile.Read(ref merging) && recorded.Admits(own) && own.FirstId > idsBefore && own.FirstHour > hoursBefore;
            if (span is { } s)
            {
                (idsBefore, hoursBefore) = (Math.Max(idsBefore, s.LastId), s.LastHour > hoursBefore ? s.LastHour : hoursBefore);
            }
            await batches.Writer.WriteAsync((current, fresh), ct);
            _written += current.Messages.Count + current.Events.Count;
            current = new IngestBatch();
            cutAt = null;
        }
        try
        {
            while (json.Read() && json.Token != JsonTokenType.EndArray)
            {
                position++;
                if (json.Token != JsonTokenType.StartObject)
                {
                    var what = Describe(json.Token);
                    json.SkipValue();
                    skipped.Add($"#{position}: not a message object but {what}");
                    continue;
                }
                var bytes = json.ReadValueBytes();
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(bytes, MessageOptions);
                }
                catch (JsonException ex)
                {
                    skipped.Add($"#{position}: not readable JSON ({ex.Message})");
                    continue;
                }
                using (doc)
                {
                    var m = doc.RootElement;
                    string? problem;
                    try
                    {
                        problem = ExportMapper.Problem(m, latest);
                    }
                    catch (InvalidOperationException ex)
                    {
                        problem = ExportMapper.Unreadable(ex);
                    }
                    if (problem is not null)
                    {
                        skipped.Add($"{ExportMapper.Label(m, position)}: {problem}");
                        continue;
                    }
                    var id = m.GetProperty("id").GetInt32();
                    if (!seen.Add(id))
                    {
                        skipped.Add($"id {id}: appears again; the first was kept");
                        continue;
                    }
                    var hour = MessageSpan.Hour(ExportMapper.SentAt(m));
                    // A full batch is sent at the next hour's first message (or, in an hour busier than a batch, at twice the size).
                    if (cutAt is { } cut && (hour != cut || current.Messages.Count + current.Events.Count >= 2 * batchSize))
                    {
                        await FlushAsync();
                    }
                    var mark = current.Mark();
                    try
                    {
                        var mapped = ExportMapper.Map(m, chat.Id, chat.Type, title, current, storeText, replies);
                        messages += mapped.Messages;
                        actions += 1 - mapped.Messages;
                        events += mapped.Events;
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException)
                    {
                        // A field of an unexpected type or a string that is not UTF-8: the message goes, the rest stays.
                        current.Rewind(mark);
                        skipped.Add($"id {id}: {ExportMapper.Unreadable(ex)}");
                        continue;
                    }
                    if (cutAt is null && current.Messages.Count + current.Events.Count >= batchSize)
                    {
                        cutAt = hour;
                    }
                }
                if (progress is not null && Stopwatch.GetElapsedTime(lastReport) > TimeSpan.FromMilliseconds(250))
                {
                    progress.Report(new ImportProgress(title, messages, json.BytesRead, total));
                    lastReport = Stopwatch.GetTimestamp();
                }
            }
            if (!current.IsEmpty)
            {
                await FlushAsync();
            }
        }
        finally
        {
            batches.Writer.TryComplete();
            members.Writer.TryComplete();
            await Task.WhenAll(writing);
        }
        progress?.Report(new ImportProgress(title, messages, json.BytesRead, total));
        // An ordinary commit: durable, and with it every batch before (their commits did not wait for the disk).
        await RollupTriggers.FoldPendingAsync(dataSource, ct);
        if (replies.Unresolved.Count > 0)
        {
            await LinkRepliesAsync(chat.Id, [.. replies.Unresolved], ct);
        }
        var added = await CountAsync(chat.Id, ct) - recorded.Messages;
        return (new ImportedChat(chat.Id, title, chat.Type, messages, added, actions, events, skipped), null);
    }


    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    /// <summary>
    /// Replies to messages the export does not hold (it began later, or they were recorded live): their senders are
    /// looked up once the chat is in.
    /// </summary>
    private async Task LinkRepliesAsync(long chatId, int[] replies, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            UPDATE messages m SET reply_to_user_id = r.sender_user_id
            FROM messages r
            WHERE m.chat_id = @chat AND m.message_id = ANY(@replies) AND m.reply_to_user_id IS NULL
              AND r.chat_id = @chat AND r.message_id = m.reply_to_message_id AND r.sender_user_id IS NOT NULL
            """).With("chat", chatId).With("replies", replies);
        cmd.CommandTimeout = 0;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>What the chat holds already: its count, and the message ids and rollup hours a fresh batch must stay clear of.</summary>
    private async Task<RecordedRange> RecordedAsync(long chatId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT (SELECT min(message_id) FROM messages WHERE chat_id = @chat), (SELECT max(message_id) FROM messages WHERE chat_id = @chat),
                   (SELECT min(hour) FROM chat_user_hourly WHERE chat_id = @chat), (SELECT max(hour) FROM chat_user_hourly WHERE chat_id = @chat),
                   EXISTS (SELECT 1 FROM chats WHERE id = @chat AND migrated_to_chat_id IS NOT NULL),
                   (SELECT count(*) FROM messages WHERE chat_id = @chat)
            """).With("chat", chatId);
        cmd.CommandTimeout = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new RecordedRange(
            reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt32(1),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTime>(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTime>(3),
            reader.GetBoolean(4), reader.GetInt64(5));
    }

    private async Task<long> CountAsync(long chatId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM messages WHERE chat_id = @chat").With("chat", chatId);
        cmd.CommandTimeout = 0;
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}

/// <summary>The message ids and UTC hours a batch covers.</summary>
internal readonly record struct MessageSpan(int FirstId, int LastId, DateTime FirstHour, DateTime LastHour)
{
    public static DateTime Hour(DateTime at) => new(at.Ticks - at.Ticks % TimeSpan.TicksPerHour, DateTimeKind.Utc);

    public static MessageSpan? Of(List<MessageRow> rows)
    {
        if (rows.Count == 0)
        {
            return null;
        }
        var (firstId, lastId, first, last) = (int.MaxValue, int.MinValue, DateTime.MaxValue, DateTime.MinValue);
        foreach (var row in rows)
        {
            (firstId, lastId) = (Math.Min(firstId, row.MessageId), Math.Max(lastId, row.MessageId));
            (first, last) = (row.SentAt < first ? row.SentAt : first, row.SentAt > last ? row.SentAt : last);
        }
        return new MessageSpan(firstId, lastId, Hour(first), Hour(last));
    }
}

/// <summary>
/// What a chat held when its import began: how many messages, their ids and rollup hours; a migrated group's history
/// lives elsewhere.
/// </summary>
internal sealed record RecordedRange(int? FirstId, int? LastId, DateTime? FirstHour, DateTime? LastHour, bool Migrated, long Messages)
{
    /// <summary>Whether a batch can be inserted without merging: none of its ids or hours is among those recorded.</summary>
    public bool Admits(MessageSpan batch) =>
        !Migrated
        && (FirstId is null || batch.LastId < FirstId || batch.FirstId > LastId)
        && (FirstHour is null || batch.LastHour < FirstHour || batch.FirstHour > LastHour);
}

/// <summary>One exported message or service action to the rows live updates produce.</summary>
internal static class ExportMapper
{
    /// <summary>Telegram opened in August 2013: an earlier date is not a message's.</summary>
    public static readonly DateTime Earliest = new(2013, 8, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>How far ahead of this machine's clock a date may be (the exporter's clock may run fast).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromDays(1);

    /// <summary>Telegram lets one invite up to 200 members at once; more in one action is not an export's.</summary>
    private const int MaxInvited = 200;

    /// <summary>What makes a message impossible to import (its id or date), or null when it can be.</summary>
    public static string? Problem(JsonElement m, DateTime latest)
    {
        if (!m.TryGetProperty("id", out var id))
        {
            return "it has no id";
        }
        if (id.ValueKind != JsonValueKind.Number)
        {
            return $"its id is {Kind(id)}, not a number";
        }
        if (!id.TryGetInt32(out var value) || value <= 0)
        {
            return $"its id {Shorten(id.GetRawText())} is not a Telegram message id (a whole number from 1 to {int.MaxValue:N0})";
        }
        if (Date(m, "date_unixtime", "date") is not { } at)
        {
            return "it has no readable date (date_unixtime or date)";
        }
        if (at < Earliest)
        {
            return $"its date {at:yyyy-MM-dd} is before Telegram existed";
        }
        return at > latest ? $"its date {at:yyyy-MM-dd HH:mm} UTC is in the future" : null;
    }

    /// <summary>How a skipped message is named: by its id when it has a usable one, else by its place in the list.</summary>
    public static string Label(JsonElement m, long position) =>
        m.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var value) && value > 0 ? $"id {value}" : $"#{position}";

    public static string Unreadable(Exception ex) => ex switch
    {
        InvalidOperationException when ex.Message.Contains("UTF-8", StringComparison.OrdinalIgnoreCase) => "a text in it is not valid UTF-8",
        InvalidOperationException => "a field in it has a value of the wrong type",
        _ => $"it cannot be read ({ex.Message})",
    };

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => value.ValueKind.ToString(),
    };

    private static string Shorten(string raw) => raw.Length <= 24 ? raw : raw[..24] + "…";

    /// <summary>Maps a message <see cref="Problem"/> found nothing wrong with; a field of a wrong type throws before or after rows are added (the caller rewinds).</summary>
    public static (int Messages, int Events) Map(
        JsonElement m, long chatId, string chatType, string chatTitle, IngestBatch batch, bool storeText, ReplySenders? replies = null)
    {
        var id = m.GetProperty("id").GetInt32();
        var at = SentAt(m);
        var service = m.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.ValueEquals("service");
        var (userId, senderChatId) = Sender(m, service ? "actor_id" : "from_id");
        var senderName = Str(m, m.TryGetProperty("actor", out _) ? "actor" : "from");
        if (batch.Chats.Count == 0)
        {
            // The chat as of the batch's first message: the row is the same for all of them.
            batch.Chats.Add(new ChatRow(chatId, chatType, string.IsNullOrEmpty(chatTitle) ? null : TextStats.Clean(chatTitle), null, false, at));
        }
        if (userId is { } uid)
        {
            batch.Users.Add(new UserRow(uid, false, TextStats.Clean(senderName) is { Length: > 0 } n ? n : $"user {uid}", null, null, null, at));
        }

        if (service)
        {
            var events = MapService(m, chatId, id, userId, at, batch);
            // A service action is no message: a reply to one has nobody to answer.
            replies?.Record(id, null);
            return (0, events);
        }

        var text = TextStats.Clean(TextOf(m));
        var kind = KindOf(m, text);
        int? replyTo = m.TryGetProperty("reply_to_message_id", out var reply) && reply.ValueKind == JsonValueKind.Number
            && reply.TryGetInt32(out var replyId) && replyId > 0 ? replyId : null;
        var edited = Date(m, "edited_unixtime", "edited");
        replies?.Record(id, userId);
        batch.Messages.Add(new MessageRow(
            chatId, id, userId, senderChatId, at, (short)kind,
            storeText && !string.IsNullOrEmpty(text) ? text : null,
            text is null ? 0 : TextStats.CountChars(text),
            text is null ? 0 : TextStats.CountWords(text),
            replyTo,
            replyTo is { } r && replies is not null ? replies.SenderOf(r, id) : null,
            m.TryGetProperty("forwarded_from", out _),
            null,
            edited,
            Counted: userId is not null && senderChatId is null,
            IsEdit: false));
        return (1, 0);
    }

    private static int MapService(JsonElement m, long chatId, int id, long? actor, DateTime at, IngestBatch batch)
    {
        short seq = 0;
        void Add(ServiceEventKind kind, long? target = null, string? data = null) =>
            batch.Events.Add(new EventRow(chatId, id, seq++, (short)kind, actor, target, TextStats.Clean(data), at));

        switch (Str(m, "action"))
        {
            case "invite_members":
                // The export names invited members but gives no ids.
                var count = m.TryGetProperty("members", out var members) && members.ValueKind == JsonValueKind.Array ? members.GetArrayLength() : 1;
                for (var i = 0; i < Math.Clamp(count, 1, MaxInvited); i++)
                {
                    Add(ServiceEventKind.Joined, null, members.ValueKind == JsonValueKind.Array ? members[i].ToString() : null);
                }
                break;
            case "join_group_by_link" or "join_group_by_request":
                Add(ServiceEventKind.Joined, actor);
                break;
            case "remove_members":
                // Someone who left by themselves is both the actor and the one removed; others are named without ids.
                var gone = m.TryGetProperty("members", out var list) && list.ValueKind == JsonValueKind.Array ? list : default;
                var name = gone.ValueKind == JsonValueKind.Array && gone.GetArrayLength() > 0 ? gone[0].ToString() : null;
                Add(ServiceEventKind.Left, gone.ValueKind == JsonValueKind.Array && gone.GetArrayLength() == 1 && name == Str(m, "actor") ? actor : null, name);
                break;
            case "edit_group_title":
                Add(ServiceEventKind.TitleChanged, null, Str(m, "title"));
                break;
            case "edit_group_photo":
                Add(ServiceEventKind.PhotoChanged);
                break;
            case "pin_message":
                Add(ServiceEventKind.Pinned);
                break;
            case "create_group" or "create_channel":
                Add(ServiceEventKind.Created, null, Str(m, "title"));
                break;
            case "migrate_to_supergroup":
                Add(ServiceEventKind.MigratedTo);
                break;
            case "migrate_from_group":
                Add(ServiceEventKind.MigratedFrom, null, Str(m, "title"));
                break;
            default:
                return 0;
        }
        return seq;
    }

    /// <summary>When a message <see cref="Problem"/> accepted was sent.</summary>
    public static DateTime SentAt(JsonElement m) => Date(m, "date_unixtime", "date") ?? throw new InvalidOperationException("a message without a date");

    /// <summary>The largest unix time a DateTime holds (9999-12-31 23:59:59).</summary>
    private const long MaxUnixSeconds = 253_402_300_799;

    /// <summary>"user123" is a person; "channel123" (or "chat123") a channel or group speaking for itself.</summary>
    private static (long? User, long? Chat) Sender(JsonElement m, string property)
    {
        var id = Str(m, property);
        if (id is null)
        {
            return (null, null);
        }
        if (id.StartsWith("user", StringComparison.Ordinal) && long.TryParse(id.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var user) && user > 0)
        {
            return (user, null);
        }
        // Chat ids past 10^12 would wrap around in the Bot API form; no real one is that large.
        if (id.StartsWith("channel", StringComparison.Ordinal) && long.TryParse(id.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var channel)
            && channel is > 0 and < MaxExportChatId)
        {
            return (null, -(MaxExportChatId + channel));
        }
        if (id.StartsWith("chat", StringComparison.Ordinal) && long.TryParse(id.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var group)
            && group is > 0 and < MaxExportChatId)
        {
            return (null, -group);
        }
        return (null, null);
    }

    /// <summary>Text as a string, or as an array of plain strings and entity parts ({"type": "bold", "text": …}).</summary>
    internal static string? TextOf(JsonElement m)
    {
        if (!m.TryGetProperty("text", out var text))
        {
            return null;
        }
        switch (text.ValueKind)
        {
            case JsonValueKind.String:
                var s = text.GetString();
                return string.IsNullOrEmpty(s) ? null : s;
            case JsonValueKind.Array:
                var builder = new StringBuilder();
                foreach (var part in text.EnumerateArray())
                {
                    builder.Append(part.ValueKind switch
                    {
                        JsonValueKind.String => part.GetString(),
                        JsonValueKind.Object when part.TryGetProperty("text", out var inner) && inner.ValueKind == JsonValueKind.String => inner.GetString(),
                        _ => null,
                    });
                }
                return builder.Length == 0 ? null : builder.ToString();
            default:
                return null;
        }
    }

    private static MessageKind KindOf(JsonElement m, string? text)
    {
        if (m.TryGetProperty("photo", out _))
        {
            return MessageKind.Photo;
        }
        switch (Str(m, "media_type"))
        {
            case "sticker":
                return MessageKind.Sticker;
            case "voice_message":
                return MessageKind.Voice;
            case "video_message":
                return MessageKind.VideoNote;
            case "video_file":
                return MessageKind.Video;
            case "audio_file":
                return MessageKind.Audio;
            case "animation":
                return MessageKind.Animation;
            case not null:
                return MessageKind.Other;
        }
        if (m.TryGetProperty("file", out _))
        {
            return MessageKind.Document;
        }
        if (m.TryGetProperty("poll", out _))
        {
            return MessageKind.Poll;
        }
        if (m.TryGetProperty("location_information", out _) || m.TryGetProperty("place_name", out _))
        {
            return MessageKind.Location;
        }
        if (m.TryGetProperty("contact_information", out _))
        {
            return MessageKind.Contact;
        }
        if (m.TryGetProperty("dice", out _))
        {
            return MessageKind.Dice;
        }
        return text is null ? MessageKind.Other : MessageKind.Text;
    }

    private static DateTime? Date(JsonElement m, string unixProperty, string isoProperty)
    {
        if (Str(m, unixProperty) is { } unix && long.TryParse(unix, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= MaxUnixSeconds)
        {
            return DateTime.UnixEpoch.AddSeconds(seconds);
        }
        // Old exports carry only local time without an offset: taken as UTC, the best that can be done.
        return Str(m, isoProperty) is { } iso && DateTime.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date)
            ? DateTime.SpecifyKind(date, DateTimeKind.Utc)
            : null;
    }

    /// <summary>Bot API supergroup ids are -(10^12 + export id): an export id must stay below 10^12.</summary>
    internal const long MaxExportChatId = 1_000_000_000_000;

    private static string? Str(JsonElement m, string property) =>
        m.TryGetProperty(property, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;
}
