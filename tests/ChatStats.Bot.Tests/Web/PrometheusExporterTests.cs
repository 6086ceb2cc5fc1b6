using System.Diagnostics.Metrics;
using ChatStats.Bot.Web;

namespace ChatStats.Bot.Tests.Web;

public sealed class PrometheusExporterTests
{
    [Fact]
    public void CountersHistogramsAndGaugesAreWrittenInTextFormat()
    {
        using var exporter = new PrometheusExporter(["ChatStats.ExporterTest"]);
        using var meter = new Meter("ChatStats.ExporterTest");
        var counter = meter.CreateCounter<long>("chatstats.test.requests", "{request}", "Requests served.");
        var histogram = meter.CreateHistogram<double>("chatstats.test.latency", "s", "Request latency.");
        var queue = 7;
        meter.CreateObservableGauge("chatstats.test.queue_depth", () => queue, "{item}", "Items waiting.");

        counter.Add(2, new KeyValuePair<string, object?>("code", 429));
        counter.Add(3, new KeyValuePair<string, object?>("code", 429));
        counter.Add(1, new KeyValuePair<string, object?>("code", "a\"b"));
        histogram.Record(0.004);
        histogram.Record(0.2);
        var first = exporter.Collect();
        queue = 3;
        var second = exporter.Collect();

        Assert.Contains("# HELP chatstats_test_requests_total Requests served.\n# TYPE chatstats_test_requests_total counter\n", first);
        Assert.Contains("chatstats_test_requests_total{code=\"429\"} 5\n", first);
        Assert.Contains("chatstats_test_requests_total{code=\"a\\\"b\"} 1\n", first);
        Assert.Contains("# TYPE chatstats_test_latency_seconds histogram\n", first);
        Assert.Contains("chatstats_test_latency_seconds_bucket{le=\"0.005\"} 1\n", first);
        Assert.Contains("chatstats_test_latency_seconds_bucket{le=\"0.25\"} 2\n", first);
        Assert.Contains("chatstats_test_latency_seconds_bucket{le=\"+Inf\"} 2\n", first);
        Assert.Contains("chatstats_test_latency_seconds_count 2\n", first);
        Assert.Contains("chatstats_test_queue_depth 7\n", first);
        Assert.Contains("chatstats_test_queue_depth 3\n", second);
    }
}
