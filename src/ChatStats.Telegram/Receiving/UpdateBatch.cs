using System.Text.Json;

namespace ChatStats.Telegram.Receiving;

/// <summary>
/// Updates as Telegram sent them: the JSON array they came in and one slice per update, cut with a single pass of the
/// reader (no object model is built, a few hundred nanoseconds per update). Elements that are not objects, or objects
/// without a numeric <c>update_id</c>, get id 0.
/// </summary>
public sealed class UpdateBatch
{
    private UpdateBatch(ReadOnlyMemory<byte> json, IReadOnlyList<RawUpdate> updates)
    {
        Json = json;
        Updates = updates;
    }

    /// <summary>The updates as one JSON array, ready to be stored as they are.</summary>
    public ReadOnlyMemory<byte> Json { get; }

    public IReadOnlyList<RawUpdate> Updates { get; }

    public int Count => Updates.Count;

    /// <summary>Reads a JSON array of updates; throws <see cref="JsonException"/> when the bytes are not one.</summary>
    /// <summary>
    /// Cutting a batch into updates must not fail on one update nested deeper than the reader's default 64 levels: the
    /// whole batch would be refused, and a poller that cannot read a getUpdates answer can never confirm past it. An
    /// update that deep is then read alone, fails there, and is dead-lettered.
    /// </summary>
    internal static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 1024 };

    public static UpdateBatch FromArray(ReadOnlyMemory<byte> json)
    {
        var reader = new Utf8JsonReader(json.Span, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("expected a JSON array of updates");
        }
        return ReadArray(ref reader, json);
    }

    /// <summary>
    /// From a reader standing on an array's '[' in <paramref name="buffer"/> (the bytes it reads), one slice per element
    /// up to the closing ']', in the same pass: a getUpdates answer is cut while it is searched for its result.
    /// </summary>
    internal static UpdateBatch ReadArray(ref Utf8JsonReader reader, ReadOnlyMemory<byte> buffer)
    {
        var arrayStart = (int)reader.TokenStartIndex;
        var updates = new List<RawUpdate>(100);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = (int)reader.TokenStartIndex;
            var id = reader.TokenType == JsonTokenType.StartObject ? ReadUpdateId(ref reader) : SkipValue(ref reader);
            updates.Add(new RawUpdate(id, buffer.Slice(start, (int)reader.BytesConsumed - start)));
        }
        return new UpdateBatch(buffer[arrayStart..(int)reader.BytesConsumed], updates);
    }

    /// <summary>One update (a webhook delivery, say); throws <see cref="JsonException"/> when the bytes are not a JSON object.</summary>
    public static UpdateBatch FromObject(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected a JSON object");
        }
        var id = ReadUpdateId(ref reader);
        if (reader.Read())
        {
            throw new JsonException("unexpected data after the update object");
        }
        var array = new byte[json.Length + 2];
        array[0] = (byte)'[';
        json.CopyTo(array.AsSpan(1));
        array[^1] = (byte)']';
        return new UpdateBatch(array, [new RawUpdate(id, array.AsMemory(1, json.Length))]);
    }

    /// <summary>Several updates, possibly from different batches, as one.</summary>
    public static UpdateBatch Join(IReadOnlyList<RawUpdate> updates)
    {
        var length = 2 + Math.Max(0, updates.Count - 1);
        foreach (var update in updates)
        {
            length += update.Json.Length;
        }
        var buffer = new byte[length];
        buffer[0] = (byte)'[';
        var position = 1;
        var slices = new RawUpdate[updates.Count];
        for (var i = 0; i < updates.Count; i++)
        {
            if (i > 0)
            {
                buffer[position++] = (byte)',';
            }
            updates[i].Json.Span.CopyTo(buffer.AsSpan(position));
            slices[i] = updates[i] with { Json = buffer.AsMemory(position, updates[i].Json.Length) };
            position += updates[i].Json.Length;
        }
        buffer[position] = (byte)']';
        return new UpdateBatch(buffer, slices);
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
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out id) || id < 0)
                {
                    id = 0;
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
}
