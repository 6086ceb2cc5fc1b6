using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using ChatStats.Bot;
using ChatStats.Bot.Data;
using ChatStats.Bot.Throttling;
using ChatStats.Bot.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Prometheus;
using ChatStats.Bot.Configuration;

namespace ChatStats.Benchmarks;

/// <summary>
/// What one Prometheus scrape of /metrics costs a bot process that tracks many users: the host as deployed (bot and web
/// roles, not started), its limiters holding 100,000 users and 100,000 chats, every instrument with values, exported
/// in text format. The bar: a scrape's cost does not grow with the users tracked (no per-user series, no per-user walk).
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class MetricsScrapeBenchmarks
{
    private IHost _host = null!;
    private CollectorRegistry _registry = null!;

    [Params(1_000, 100_000)]
    public int TrackedUsers { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _host = AppHost.Build(new RoleSet(Bot: true, Web: true), [], new Dictionary<string, string?>
        {
            ["Telegram:BotToken"] = "123456:benchmark-token",
            ["Database:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["Web:Urls"] = "http://127.0.0.1:0",
        });
        _registry = _host.Services.GetRequiredService<CollectorRegistry>();
        _ = _host.Services.GetRequiredService<MeterPublisher>();
        // The gauges of the limiters, the load monitor and the dispatcher, as the started host has them.
        foreach (var service in _host.Services.GetServices<IHostedService>().Where(s => s is LimitsMetrics or LoadSheddingService))
        {
            await service.StartAsync(CancellationToken.None);
        }
        var limiters = _host.Services.GetRequiredService<CommandLimiters>();
        for (long user = 1; user <= TrackedUsers; user++)
        {
            await limiters.Commands.TryAcquireAsync(user);
            await limiters.Tiers.TryAcquireAsync(-user);
            limiters.RefusedUsers.Add(user);
        }
        // Every instrument of ours with a value, so the scrape writes every series it would in production.
        foreach (var type in typeof(MeterPublisher).Assembly.GetTypes().Concat(typeof(ChatStats.Throttling.ThrottlingMetrics).Assembly.GetTypes())
            .Concat(typeof(ChatStats.Telegram.TelegramMetrics).Assembly.GetTypes()).Where(t => !t.ContainsGenericParameters))
        {
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        }
        // Answers by command (the dispatcher's histograms), the rest without tags, as recorded in production.
        foreach (var command in new[] { "stats", "top", "words", "activity", "history", "me", "summary", "report" })
        {
            for (var i = 0; i < 100; i++)
            {
                RecordEverywhere(i / 100.0, new KeyValuePair<string, object?>("command", command));
            }
        }
        await _registry.CollectAndExportAsTextAsync(Stream.Null);
    }

    /// <summary>Feeds a value to every histogram and counter in a static field: the dispatcher's by command, the others untagged.</summary>
    private static void RecordEverywhere(double value, KeyValuePair<string, object?> command)
    {
        foreach (var field in typeof(MeterPublisher).Assembly.GetTypes().Where(t => !t.ContainsGenericParameters)
            .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)))
        {
            var tags = field.DeclaringType == typeof(ChatStats.Bot.Ingest.UpdateDispatcher) ? [command] : Array.Empty<KeyValuePair<string, object?>>();
            switch (field.GetValue(null))
            {
                case Histogram<double> h:
                    h.Record(value, tags);
                    break;
                case Histogram<int> h:
                    h.Record((int)(value * 100), tags);
                    break;
                case Counter<long> c:
                    c.Add(1, tags);
                    break;
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    [Benchmark(Description = "one /metrics scrape (text format)")]
    public Task Scrape() => _registry.CollectAndExportAsTextAsync(Stream.Null);
}
