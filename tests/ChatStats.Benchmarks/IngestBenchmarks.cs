using System.Text;
using BenchmarkDotNet.Attributes;
using ChatStats.Bot.Ingest;
using ChatStats.Telegram;
using ChatStats.Telegram.Types;
using ChatStats.Testing;

namespace ChatStats.Benchmarks;

/// <summary>The per-update work on the ingest path: parsing a getUpdates batch and mapping it to rows.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class IngestBenchmarks
{
    private byte[] _response = [];
    private IReadOnlyList<Update> _updates = [];
    private readonly IngestBatch _batch = new();

    [GlobalSetup]
    public void Setup()
    {
        var traffic = Traffic.Generate(100, seed: 1);
        var id = 1;
        _response = Encoding.UTF8.GetBytes("{\"ok\":true,\"result\":[" + string.Join(",", traffic.Updates.Select(u => "{\"update_id\":" + id++ + "," + u[1..])) + "]}");
        _updates = BotApiClient.ParseUpdates(_response);
    }

    [Benchmark(Description = "parse a 100-update getUpdates response")]
    public int Parse() => BotApiClient.ParseUpdates(_response).Count;

    [Benchmark(Description = "map 100 updates to rows")]
    public int Map()
    {
        _batch.Clear();
        foreach (var update in _updates)
        {
            UpdateMapper.Map(update, _batch, storeText: true);
        }
        return _batch.Messages.Count;
    }

    [Benchmark(Description = "count words of a 200-character message")]
    public int Words() => TextStats.CountWords("Привет всем! Today we deploy the new stats bot 🦄, then lunch at 13:00. Don't forget the retro — it's at 16:30 in room 4. Мы обсудим метрики, графики и всё остальное, что накопилось за неделю.");
}
