using System.Diagnostics.Metrics;
using System.Text;
using ChatStats.Bot.Web;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace ChatStats.Bot.Tests.Web;

public sealed class MeterPublisherTests
{
    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task CountersHistogramsAndGaugesKeepTheirTypesUnitsAndLabels()
    {
        var registry = Metrics.NewCustomRegistry();
        using var publisher = new MeterPublisher(registry, meterPrefixes: ["ChatStats.PublisherTest.Types"]);
        using var meter = new Meter("ChatStats.PublisherTest.Types");
        var counter = meter.CreateCounter<long>("chatstats.test.requests", "{request}", "Requests served.");
        var histogram = meter.CreateHistogram<double>("chatstats.test.latency", "s", "Request latency.");
        var size = meter.CreateHistogram<int>("chatstats.test.size", "{item}", "Items per batch.");
        var wait = meter.CreateHistogram("chatstats.test.wait", "s", "Time waited.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.3, 3] });
        var queue = 7;
        meter.CreateObservableGauge("chatstats.test.queue_depth", () => queue, "{item}", "Items waiting.");
        meter.CreateObservableCounter("chatstats.test.pauses", () => 2.5, "s", "Time paused.");

        counter.Add(2, new KeyValuePair<string, object?>("code", 429));
        counter.Add(3, new KeyValuePair<string, object?>("code", 429));
        counter.Add(1, new KeyValuePair<string, object?>("code", "a\"b"));
        histogram.Record(0.004);
        histogram.Record(0.2);
        size.Record(3);
        wait.Record(1);
        var first = await ScrapeAsync(registry);
        queue = 3;
        var second = await ScrapeAsync(registry);

        Assert.Contains("# HELP chatstats_test_requests_total Requests served.\n# TYPE chatstats_test_requests_total counter\n", first);
        Assert.Contains("chatstats_test_requests_total{code=\"429\"} 5\n", first);
        Assert.Contains("chatstats_test_requests_total{code=\"a\\\"b\"} 1\n", first);
        Assert.Contains("# TYPE chatstats_test_latency_seconds histogram\n", first);
        Assert.Contains("chatstats_test_latency_seconds_bucket{le=\"0.005\"} 1\n", first);
        Assert.Contains("chatstats_test_latency_seconds_bucket{le=\"0.2\"} 2\n", first);
        Assert.Contains("chatstats_test_latency_seconds_bucket{le=\"+Inf\"} 2\n", first);
        Assert.Contains("chatstats_test_latency_seconds_count 2\n", first);
        Assert.Contains("chatstats_test_size_bucket{le=\"5\"} 1\n", first);
        Assert.Contains("chatstats_test_wait_seconds_bucket{le=\"0.3\"} 0\nchatstats_test_wait_seconds_bucket{le=\"3\"} 1\n", first);
        Assert.Contains("# TYPE chatstats_test_pauses_seconds_total counter\n", first);
        Assert.Contains("chatstats_test_pauses_seconds_total 2.5\n", first);
        Assert.Contains("# TYPE chatstats_test_queue_depth gauge\n", first);
        Assert.Contains("chatstats_test_queue_depth 7\n", first);
        Assert.Contains("chatstats_test_queue_depth 3\n", second);
    }

    [Fact]
    public async Task AGaugeSeriesThatIsNoLongerReportedGoesAndAQuietCounterStays()
    {
        var registry = Metrics.NewCustomRegistry();
        using var publisher = new MeterPublisher(registry, meterPrefixes: ["ChatStats.PublisherTest.Series"]);
        using var meter = new Meter("ChatStats.PublisherTest.Series");
        var queues = new List<string> { "reports", "default" };
        meter.CreateObservableGauge("chatstats.test.queued", () => queues.Select(q => new Measurement<int>(4, new KeyValuePair<string, object?>("queue", q))));
        var counter = meter.CreateCounter<long>("chatstats.test.done");
        counter.Add(1, new KeyValuePair<string, object?>("queue", "reports"));

        var before = await ScrapeAsync(registry);
        queues.Remove("reports");
        var after = await ScrapeAsync(registry);

        Assert.Contains("chatstats_test_queued{queue=\"reports\"} 4", before);
        Assert.DoesNotContain("chatstats_test_queued{queue=\"reports\"}", after);
        Assert.Contains("chatstats_test_queued{queue=\"default\"} 4", after);
        Assert.Contains("chatstats_test_done_total{queue=\"reports\"} 1", after);
    }

    [Fact]
    public async Task AMeterAnotherHostMadeIsNotPublishedHere()
    {
        using var ours = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var theirs = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var registry = Metrics.NewCustomRegistry();
        using var publisher = new MeterPublisher(registry, ours.GetRequiredService<IMeterFactory>(), ["ChatStats.PublisherTest.Scope"]);
        var mine = ours.GetRequiredService<IMeterFactory>().Create("ChatStats.PublisherTest.Scope");
        var other = theirs.GetRequiredService<IMeterFactory>().Create("ChatStats.PublisherTest.Scope");
        mine.CreateObservableGauge("chatstats.test.level", () => 1);
        other.CreateObservableGauge("chatstats.test.level", () => 2);

        var text = await ScrapeAsync(registry);

        Assert.Contains("chatstats_test_level 1\n", text);
        Assert.DoesNotContain("chatstats_test_level 2", text);
    }
}
