using System.Text;
using BenchmarkDotNet.Attributes;
using ChatStats.Bot.Ingest;
using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using Telegram.Bot.Types;

namespace ChatStats.Benchmarks;

/// <summary>The per-update work on the ingest path: cutting a getUpdates batch, reading each update, mapping it to rows.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class IngestBenchmarks
{
    private byte[] _array = [];
    private IReadOnlyList<Update> _updates = [];
    private readonly IngestBatch _batch = new();

    [GlobalSetup]
    public void Setup()
    {
        var traffic = Traffic.Generate(100, seed: 1);
        var id = 1;
        _array = Encoding.UTF8.GetBytes("[" + string.Join(",", traffic.Updates.Select(u => "{\"update_id\":" + id++ + "," + u[1..])) + "]");
        _updates = [.. UpdateBatch.FromArray(_array).Updates.Select(u => u.Read().Update!)];
    }

    [Benchmark(Description = "cut a 100-update batch (ids only)")]
    public int Cut() => UpdateBatch.FromArray(_array).Count;

    [Benchmark(Description = "cut and read 100 updates with Telegram.Bot")]
    public int Read()
    {
        var readable = 0;
        foreach (var update in UpdateBatch.FromArray(_array).Updates)
        {
            readable += update.Read().IsReadable ? 1 : 0;
        }
        return readable;
    }

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
