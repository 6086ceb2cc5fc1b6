using System.Text;
using BenchmarkDotNet.Attributes;
using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using Telegram.Bot;

namespace ChatStats.Benchmarks;

/// <summary>
/// One getUpdates round trip for a 100-update batch against the in-process fake (the offset never moves, so every
/// call returns the same batch): as raw bytes over a plain HttpClient, through Telegram.Bot's SendRequest into a
/// JsonElement, and through <see cref="UpdateSource"/>, which the poller uses.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class PollPathBenchmarks
{
    private FakeBotApi _api = null!;
    private ITelegramBotClient _client = null!;
    private UpdateSource _source = null!;
    private HttpClient _http = null!;
    private byte[] _request = [];

    [GlobalSetup]
    public void Setup()
    {
        _api = FakeBotApi.StartAsync().GetAwaiter().GetResult();
        _api.AddUpdates(Traffic.Generate(100, seed: 1).Updates);
        _client = _api.CreateClient();
        _source = _api.CreateUpdateSource();
        _http = new HttpClient();
        _request = """{"limit":100,"timeout":0,"allowed_updates":["message"]}"""u8.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _http.Dispose();
        _api.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "getUpdates, raw bytes over HttpClient")]
    public async Task<int> Raw()
    {
        using var content = new ByteArrayContent(_request);
        content.Headers.ContentType = new("application/json");
        using var response = await _http.PostAsync($"{_api.BaseUrl}/bot{FakeBotApi.Token}/getUpdates", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return bytes.Length;
    }

    [Benchmark(Description = "getUpdates, raw bytes over HttpClient, then cut")]
    public async Task<int> RawThenCut()
    {
        using var content = new ByteArrayContent(_request);
        content.Headers.ContentType = new("application/json");
        using var response = await _http.PostAsync($"{_api.BaseUrl}/bot{FakeBotApi.Token}/getUpdates", content);
        return UpdateSource.Read(await response.Content.ReadAsByteArrayAsync()).Count;
    }

    [Benchmark(Description = "getUpdates through Telegram.Bot's SendRequest (JsonElement result), then cut")]
    public async Task<int> ThroughLibrary()
    {
        var result = await _client.SendRequest(new RawResultRequest { Limit = 100, Timeout = 0 });
        return UpdateBatch.FromArray(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(result).ToArray()).Count;
    }

    [Benchmark(Description = "getUpdates through UpdateSource (what the poller runs)")]
    public async Task<int> ThroughUpdateSource() =>
        (await _source.GetUpdatesAsync(null, 100, TimeSpan.Zero, [global::Telegram.Bot.Types.Enums.UpdateType.Message], CancellationToken.None)).Count;

    /// <summary>getUpdates with the result left as JSON, the cheapest the library's own SendRequest can read it.</summary>
    public sealed class RawResultRequest() : global::Telegram.Bot.Requests.RequestBase<System.Text.Json.JsonElement>("getUpdates")
    {
        public int? Limit { get; set; }
        public int? Timeout { get; set; }
    }
}
