using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatStats.Testing;
using Xunit.Abstractions;

namespace ChatStats.Bot.Tests.Fuzz;

/// <summary>
/// The fuzz suite's one runner. Every case draws from its own <see cref="Random"/>, seeded from the run's seed, the
/// surface and the case's number, so a failure names the seed that brings that very case back:
/// <c>CHATSTATS_FUZZ_SEED=… CHATSTATS_FUZZ_ONLY=… deploy/dev.sh test</c>. <c>CHATSTATS_FUZZ_SCALE</c> multiplies
/// the number of cases for a longer campaign (the suite's default keeps <c>deploy/dev.sh test</c> within minutes).
/// </summary>
internal static class Fuzz
{
    /// <summary>No single case may take longer than this, or it counts as a hang (a bound, not a speed test).</summary>
    public static readonly TimeSpan CaseBound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The test process may not grow past this while a case runs (it holds the bot, the fakes and every other test class
    /// running alongside): a case that makes memory run away fails here, well before the machine would.
    /// </summary>
    public const long MemoryBound = 3L << 30;

    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("CHATSTATS_FUZZ_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : 16_2026;

    public static int Scale { get; } = int.TryParse(Environment.GetEnvironmentVariable("CHATSTATS_FUZZ_SCALE"), CultureInfo.InvariantCulture, out var scale) && scale > 0 ? scale : 1;

    /// <summary>One case only (its number), to reproduce a failure without the rest.</summary>
    private static int? Only { get; } = int.TryParse(Environment.GetEnvironmentVariable("CHATSTATS_FUZZ_ONLY"), CultureInfo.InvariantCulture, out var only) ? only : null;

    /// <summary>
    /// Runs <paramref name="cases"/> × scale cases of <paramref name="surface"/>. The body gets the case's own random
    /// source and a note to describe its input; a failure (an assertion, an exception, a case over the bound) stops the
    /// run with the surface, the case, its seed and the input.
    /// </summary>
    public static async Task<int> RunAsync(ITestOutputHelper output, string surface, int cases, Func<FuzzCase, Task> body)
    {
        var total = cases * Scale;
        var ran = 0;
        for (var i = 0; i < total; i++)
        {
            if (Only is { } only && only != i)
            {
                continue;
            }
            var fuzzCase = new FuzzCase(surface, i, new Random(unchecked(Seed * 1_000_003 + StableHash(surface) * 7_919 + i)));
            try
            {
                await body(fuzzCase).WaitAsync(CaseBound);
                var process = System.Diagnostics.Process.GetCurrentProcess();
                Assert.True(process.WorkingSet64 < MemoryBound, $"the process grew to {process.WorkingSet64 >> 20:N0} MB (bound {MemoryBound >> 20:N0} MB)");
            }
            catch (Exception ex)
            {
                var input = Path.Combine(Path.GetTempPath(), $"chatstats-fuzz-{surface}-{Seed}-{i}.txt");
                await File.WriteAllTextAsync(input, fuzzCase.Input);
                throw new FuzzFailure(
                    $"{surface} case {i} failed (reproduce: CHATSTATS_FUZZ_SEED={Seed} CHATSTATS_FUZZ_ONLY={i}); its input is in {input}: " +
                    $"{Shorten(fuzzCase.Input, 600)}\n{(ex is TimeoutException ? $"no answer within {CaseBound.TotalSeconds:0} s: a hang" : ex.ToString())}", ex);
            }
            ran++;
        }
        output.WriteLine($"fuzz {surface}: {ran} cases (seed {Seed}, scale {Scale})");
        return ran;
    }

    public static string Shorten(string text, int max) => text.Length <= max ? text : $"{text[..max]}… ({text.Length:N0} characters)";

    /// <summary>The corpus of known nasty cases for a surface, checked in beside this file.</summary>
    public static string[] Corpus(string surface) =>
        [.. Directory.GetFiles(Path.Combine(Tools.RepositoryRoot, "tests", "ChatStats.Bot.Tests", "Fuzz", "Corpus", surface)).Order(StringComparer.Ordinal)];

    /// <summary>Lines of a corpus text file, without blank ones and # comments.</summary>
    public static string[] CorpusLines(string file) =>
        [.. File.ReadAllLines(Path.Combine(Tools.RepositoryRoot, "tests", "ChatStats.Bot.Tests", "Fuzz", "Corpus", file))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(Unescape)];

    /// <summary>Corpus lines write awkward characters as \uXXXX (and \n), so that the file itself stays readable.</summary>
    private static string Unescape(string line) => JsonSerializer.Deserialize<string>("\"" + line.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"")!;

    /// <summary>What a user or an operator must never be shown: a stack trace or a runtime exception's type.</summary>
    public static void AssertNoInternals(string text, string where)
    {
        string[] leaks = ["   at ", "Exception:", "System.", "Npgsql.", "--- End of"];
        foreach (var leak in leaks)
        {
            Assert.False(text.Contains(leak, StringComparison.Ordinal), $"{where} shows internals (\"{leak}\"): {Shorten(text, 800)}");
        }
    }

    /// <summary>No failure a handler, a recorder or a middleware had to log: hostile input is answered, not crashed on.</summary>
    public static void AssertNoErrorsLogged(LogLines logs)
    {
        var errors = logs.All.Where(l => (l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal))
            // A readiness check failing (the poller not polling yet on a busy machine) is its own report, not a crash.
            && !l.Contains("HealthChecks.DefaultHealthCheckService:", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, $"errors logged: {string.Join("\n", errors.Take(3).Select(e => Shorten(e, 1_500)))}");
    }

    // Not string.GetHashCode nor HashCode: both are seeded anew in every process, and a case must come back the same.
    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked(hash * 31 + c);
        }
        return hash;
    }
}

internal sealed class FuzzFailure(string message, Exception inner) : Exception(message, inner);

/// <summary>One case: its random source, and what it fed in (kept for the failure message).</summary>
internal sealed class FuzzCase(string surface, int number, Random random)
{
    public string Surface { get; } = surface;
    public int Number { get; } = number;
    public Random Random { get; } = random;
    public string Input { get; set; } = "";

    public T Pick<T>(IReadOnlyList<T> items) => items[Random.Next(items.Count)];

    public bool Chance(double p) => Random.NextDouble() < p;
}

/// <summary>
/// Damages JSON the way a buggy client, an edited file or an attacker would: a field's value swapped for a hostile
/// one of another type, a field removed, an unknown one added, an array element doubled. Strings that must not survive
/// serialisation as themselves are written as markers and put in afterwards (<see cref="Finish"/>).
/// </summary>
internal static class JsonMutator
{
    /// <summary>Replaced in the serialised JSON by bytes that are not UTF-8.</summary>
    public const string InvalidUtf8Marker = "@@INVALID-UTF8@@";

    /// <summary>Replaced in the serialised JSON by the escape of a lone surrogate, which no UTF-8 text can hold.</summary>
    public const string LoneSurrogateMarker = "@@LONE-SURROGATE@@";

    /// <summary>Text that hurts: controls, direction overrides, invisible characters, markup of both parse modes, scripts.</summary>
    public static readonly string[] HostileStrings =
    [
        "", " ", "\u0000", "a\u0000b", "\u0007\u001b[31m\u0008", "\t\r\n\u000b\u000c", "\u202egnp.exe", "\u2066isolated\u2069\u202d", "\u200b\u200c\u200d\ufeff",
        "<b>bold</b><script>alert(1)</script>", "&amp;&lt;&#0;&#x110000;&", "*bold* _it_ [link](http://x) `code` ~s~ ||spoiler|| \\", "_*[]()~`>#+-=|{}.!",
        "/stats@OtherBot", "@everyone", "Привет, мир", "你好世界", "مرحبا بالعالم", "🧑‍🤝‍🧑🏳️‍🌈", "e\u0301\u0301\u0301\u0301", "%s%n%x{0}{1}", "'; DROP TABLE messages; --",
        "\u0085\u2028\u2029", "\ud83d\ude00", InvalidUtf8Marker, LoneSurrogateMarker, "9223372036854775808", "-1", "NaN", "1e400",
    ];

    /// <summary>A value of any type, hostile for a field that expects another: strings, numbers at the edges, nesting, size.</summary>
    public static JsonNode? HostileValue(FuzzCase c)
    {
        switch (c.Random.Next(14))
        {
            case 0:
                return null;
            case 1:
                return c.Chance(0.5);
            case 2:
                return c.Pick(new long[] { 0, -1, 1, int.MaxValue, (long)int.MaxValue + 1, int.MinValue, long.MaxValue, long.MinValue });
            case 3:
                return c.Pick(new[] { 1.5, -0.0, 1e308, 5e-324, 0.1 });
            case 4:
                return JsonValue.Create(c.Pick(new[] { decimal.MaxValue, -decimal.MaxValue }));
            case 5:
                return new JsonArray();
            case 6:
                return new JsonObject();
            case 7:
                // Nested arrays a few dozen levels deep.
                JsonNode deep = new JsonArray();
                for (var i = c.Random.Next(10, 60); i > 0; i--)
                {
                    deep = new JsonArray(deep);
                }
                return deep;
            case 8:
                // A long string: up to 100,000 characters, sometimes of one hostile piece repeated.
                var piece = c.Pick(HostileStrings) is { Length: > 0 } p && !p.StartsWith("@@", StringComparison.Ordinal) ? p : "w ";
                return string.Concat(Enumerable.Repeat(piece, c.Random.Next(1, 100_000 / piece.Length)));
            case 9:
                var array = new JsonArray();
                for (var i = c.Random.Next(1, c.Chance(0.1) ? 20_000 : 50); i > 0; i--)
                {
                    array.Add(c.Chance(0.5) ? (JsonNode?)c.Pick(HostileStrings) : c.Random.Next());
                }
                return array;
            default:
                return c.Pick(HostileStrings);
        }
    }

    /// <summary>A hostile value of the kind <paramref name="original"/> has: a string for a string, an edge number for a number.</summary>
    public static JsonNode? SameKindHostile(FuzzCase c, JsonNode? original) => original?.GetValueKind() switch
    {
        JsonValueKind.String => c.Pick(HostileStrings),
        JsonValueKind.Number => c.Pick(new long[] { 0, -1, 1, int.MaxValue, (long)int.MaxValue + 1, -(long)int.MaxValue - 1, 4_102_444_800, 253_402_300_800, long.MaxValue, long.MinValue }),
        JsonValueKind.True or JsonValueKind.False => !original.GetValue<bool>(),
        JsonValueKind.Array => new JsonArray(),
        JsonValueKind.Object => new JsonObject(),
        _ => HostileValue(c),
    };

    /// <summary>Applies one to <paramref name="count"/> damages at random places in <paramref name="root"/>.</summary>
    public static void Mutate(FuzzCase c, JsonNode root, int count)
    {
        for (var n = 0; n < count; n++)
        {
            var containers = new List<JsonNode>();
            Collect(root, containers);
            var target = c.Pick(containers);
            switch (target)
            {
                case JsonObject obj when obj.Count > 0 && c.Chance(0.8):
                    var key = c.Pick(obj.Select(p => p.Key).ToList());
                    if (c.Chance(0.2))
                    {
                        obj.Remove(key);
                    }
                    else
                    {
                        // Half the time of the same type, so that the damage gets past the parser into what reads the values.
                        obj[key] = c.Chance(0.5) ? SameKindHostile(c, obj[key]) : HostileValue(c);
                    }
                    break;
                case JsonObject obj:
                    obj[c.Pick(new[] { "unknown_field", "x-future-kind", "id", "\u0000", "" }) + (obj.Count > 0 ? "" : "_")] = HostileValue(c);
                    break;
                case JsonArray array when array.Count > 0:
                    var index = c.Random.Next(array.Count);
                    switch (c.Random.Next(3))
                    {
                        case 0:
                            array[index] = HostileValue(c);
                            break;
                        case 1:
                            array.Insert(index, array[index]?.DeepClone());
                            break;
                        default:
                            array.RemoveAt(index);
                            break;
                    }
                    break;
                case JsonArray array:
                    array.Add(HostileValue(c));
                    break;
            }
        }
    }

    private static void Collect(JsonNode? node, List<JsonNode> containers)
    {
        switch (node)
        {
            case JsonObject obj:
                containers.Add(obj);
                foreach (var (_, value) in obj)
                {
                    Collect(value, containers);
                }
                break;
            case JsonArray array:
                containers.Add(array);
                foreach (var value in array)
                {
                    Collect(value, containers);
                }
                break;
        }
    }

    /// <summary>The JSON's UTF-8 bytes with the markers replaced: invalid UTF-8, and lone surrogates escaped.</summary>
    public static byte[] Finish(JsonNode node)
    {
        var json = node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = 1024 });
        json = json.Replace(LoneSurrogateMarker, "\\ud800 and \\udfff", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(json);
        var marker = Encoding.UTF8.GetBytes(InvalidUtf8Marker);
        byte[] invalid = [0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0x2E, 0x2E, 0x2E, 0x2E, 0x2E];
        for (var at = bytes.AsSpan().IndexOf(marker); at >= 0; at = bytes.AsSpan().IndexOf(marker))
        {
            invalid.CopyTo(bytes, at); // same length as the marker
        }
        return bytes;
    }
}
