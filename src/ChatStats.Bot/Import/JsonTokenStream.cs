using System.Text.Json;

namespace ChatStats.Bot.Import;

/// <summary>
/// Reads a JSON document of any size token by token with <see cref="Utf8JsonReader"/>, refilling a buffer from the
/// stream as it goes, and hands out single values (one exported message, say) as their raw bytes. Memory stays at the
/// buffer size plus the largest single value, never the document.
/// </summary>
internal sealed class JsonTokenStream(Stream stream, int bufferSize = 1 << 20)
{
    /// <summary>Deeper than any Telegram Desktop export (a message's entities are four levels down); a bound on hostile files.</summary>
    public const int MaxDepth = 256;

    private byte[] _buffer = new byte[bufferSize];
    private int _start;
    private int _end;
    private bool _final;
    private JsonReaderState _state = new(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = MaxDepth });

    // Where the last token was read from, and the state before it: enough to read it again as a whole value.
    private int _tokenFrom;
    private JsonReaderState _tokenState;

    public JsonTokenType Token { get; private set; }
    public int Depth { get; private set; }
    public string? Text { get; private set; }
    public long BytesRead { get; private set; }

    public bool Read()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
            bool read;
            try
            {
                read = reader.Read();
            }
            catch (JsonException ex) when (reader.CurrentDepth >= MaxDepth - 1)
            {
                throw new JsonNestingException(ex);
            }
            if (read)
            {
                _tokenFrom = _start;
                _tokenState = _state;
                Token = reader.TokenType;
                Depth = reader.CurrentDepth;
                Text = reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String ? StringOf(ref reader)
                    : reader.TokenType is JsonTokenType.Number ? System.Text.Encoding.UTF8.GetString(reader.ValueSpan)
                    : null;
                _start += (int)reader.BytesConsumed;
                _state = reader.CurrentState;
                return true;
            }
            if (_final)
            {
                return false;
            }
            Refill(_start);
        }
    }

    /// <summary>A string token's text; bytes that are not UTF-8 become U+FFFD instead of failing the whole file.</summary>
    private static string StringOf(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // The buffer is one span, never a sequence.
            return System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
        }
    }

    /// <summary>
    /// The token just read is the start of an object or array: returns the whole value's bytes and moves past it.
    /// The bytes stay valid until the next call.
    /// </summary>
    public ReadOnlyMemory<byte> ReadValueBytes()
    {
        if (Token is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            throw new InvalidOperationException("Not at the start of an object or array.");
        }
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_tokenFrom, _end - _tokenFrom), _final, _tokenState);
            reader.Read();
            var valueStart = _tokenFrom + (int)reader.TokenStartIndex;
            bool skipped;
            try
            {
                skipped = reader.TrySkip();
            }
            catch (JsonException ex) when (reader.CurrentDepth >= MaxDepth - 1)
            {
                throw new JsonNestingException(ex);
            }
            if (skipped)
            {
                var valueEnd = _tokenFrom + (int)reader.BytesConsumed;
                _start = valueEnd;
                _state = reader.CurrentState;
                Token = reader.TokenType;
                Depth = reader.CurrentDepth;
                return _buffer.AsMemory(valueStart, valueEnd - valueStart);
            }
            if (_final)
            {
                throw new JsonException("The file ends inside a value: it is truncated.");
            }
            Refill(_tokenFrom);
        }
    }

    /// <summary>Skips the value the last token starts (a whole object or array, or nothing for a scalar).</summary>
    public void SkipValue()
    {
        if (Token is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            var depth = Depth;
            while (Read() && !(Depth == depth && Token is JsonTokenType.EndObject or JsonTokenType.EndArray))
            {
            }
        }
    }

    /// <summary>Keeps the bytes from <paramref name="keepFrom"/> on, growing the buffer if a single value needs it, and reads more.</summary>
    private void Refill(int keepFrom)
    {
        var kept = _end - keepFrom;
        if (kept >= _buffer.Length / 2)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        Buffer.BlockCopy(_buffer, keepFrom, _buffer, 0, kept);
        _start -= keepFrom;
        _tokenFrom -= keepFrom;
        _end = kept;
        while (_end < _buffer.Length)
        {
            var n = stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                _final = true;
                break;
            }
            _end += n;
            BytesRead += n;
        }
        // A byte-order mark (editors add one) is not JSON; skip it.
        if (BytesRead == _end && _start == 0 && _end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF)
        {
            _start = 3;
        }
    }
}

/// <summary>Arrays or objects nested deeper than <see cref="JsonTokenStream.MaxDepth"/>: not a truncated file, a hostile or broken one.</summary>
internal sealed class JsonNestingException(Exception inner)
    : JsonException($"values are nested more than {JsonTokenStream.MaxDepth} levels deep", inner);
