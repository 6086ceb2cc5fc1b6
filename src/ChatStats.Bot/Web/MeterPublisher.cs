using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Prometheus;

namespace ChatStats.Bot.Web;

/// <summary>
/// Publishes our <see cref="System.Diagnostics.Metrics"/> instruments, Npgsql's and the runtime's as prometheus-net
/// metrics in a registry of this process's own; prometheus-net writes the exposition (text or OpenMetrics).
/// </summary>
/// <remarks>
/// Not prometheus-net's own <c>MeterAdapter</c>, on purpose: it names a metric after meter and instrument
/// (<c>chatstats_bot_chatstats_reply_latency</c>), drops the unit, publishes every counter as a gauge, and forgets a
/// series that has not moved for five minutes, so a quiet counter comes back from zero. Here a metric is named after
/// its instrument with the unit as Prometheus wants it (<c>chatstats_reply_latency_seconds</c>,
/// <c>chatstats_jobs_finished_total</c>), counters are counters, and nothing is forgotten: our labels are bounded
/// (limiter, tier, command, outcome, queue: never a user or a chat). Observable instruments report their current
/// values before each scrape; a series one of them no longer reports is removed.
/// </remarks>
internal sealed class MeterPublisher : IDisposable
{
    /// <summary>
    /// The meters on /metrics: ours, Npgsql's (its pool), the runtime's (GC, thread pool, memory) and ASP.NET Core's
    /// hosting (each HTTP request by route, method and status: the API, the webhook, the admin pages).
    /// </summary>
    public static readonly string[] DefaultMeters = ["ChatStats", "Npgsql", "System.Runtime", "Microsoft.AspNetCore.Hosting"];

    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] CountBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _factory;
    private readonly ConcurrentDictionary<string, Sink> _sinks = new(StringComparer.Ordinal);
    private readonly Lock _collectLock = new();
    private bool _disposed;

    /// <param name="registry">Where the metrics go; /metrics exports it.</param>
    /// <param name="meters">
    /// This process's meter factory: a meter it created belongs to this host, one another host in the same process
    /// created (tests start several) does not. Meters made without a factory (static ones, Npgsql's) belong to all.
    /// </param>
    /// <param name="meterPrefixes">Meter names to publish, by prefix.</param>
    public MeterPublisher(CollectorRegistry registry, IMeterFactory? meters = null, IEnumerable<string>? meterPrefixes = null)
    {
        var prefixes = meterPrefixes?.ToArray() ?? DefaultMeters;
        _factory = Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            var scope = instrument.Meter.Scope;
            if (prefixes.Any(p => instrument.Meter.Name.StartsWith(p, StringComparison.Ordinal))
                && (scope is null || ReferenceEquals(scope, meters)))
            {
                listener.EnableMeasurementEvents(instrument, _sinks.GetOrAdd(MetricName(instrument), _ => new Sink(instrument, _factory)));
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, state) => ((Sink)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, state) => ((Sink)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, state) => ((Sink)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((i, value, tags, state) => ((Sink)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>((i, value, tags, state) => ((Sink)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>((i, value, tags, state) => ((Sink)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>((i, value, tags, state) => ((Sink)state!).Record((double)value, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(Observe);
    }

    /// <summary>
    /// The series names of every instrument this publisher listens to, measured yet or not (a counter of failures
    /// appears on /metrics at the first failure): what alert rules and dashboards may name.
    /// </summary>
    public IReadOnlyList<string> SeriesNames => [.. _sinks.SelectMany(s => s.Value.IsHistogram ? new[] { s.Key + "_bucket", s.Key + "_sum", s.Key + "_count" } : [s.Key])];

    public void Dispose()
    {
        lock (_collectLock)
        {
            _disposed = true;
            _listener.Dispose();
        }
    }

    /// <summary>Before each scrape: the observable instruments report, and series they no longer report go.</summary>
    private void Observe()
    {
        lock (_collectLock)
        {
            if (_disposed)
            {
                return;
            }
            foreach (var sink in _sinks.Values)
            {
                sink.BeginObservation();
            }
            _listener.RecordObservableInstruments();
            foreach (var sink in _sinks.Values)
            {
                sink.EndObservation();
            }
        }
    }

    /// <summary>
    /// Instruments of others whose names Prometheus would misread: a gauge ending in <c>_count</c> looks like a part of
    /// a histogram (promtool refuses it; its check on /metrics in the tests finds a new one).
    /// </summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["db.client.connection.count"] = "db_client_connections",
        ["dotnet.assembly.count"] = "dotnet_assemblies_loaded",
        ["dotnet.process.cpu.count"] = "dotnet_process_cpus",
        ["dotnet.timer.count"] = "dotnet_timers",
        ["dotnet.thread_pool.thread.count"] = "dotnet_thread_pool_threads",
    };

    /// <summary>
    /// Levels the runtime publishes as observable counters, though they go down as well as up (threads, queued work):
    /// as Prometheus counters they could never fall, so they are gauges.
    /// </summary>
    private static readonly HashSet<string> Levels = new(StringComparer.Ordinal)
    {
        "dotnet.thread_pool.thread.count",
        "dotnet.thread_pool.queue.length",
    };

    /// <summary>
    /// Labels of others' instruments whose measurements carry different tags (ASP.NET Core's request duration has
    /// <c>http.route</c> only when a route matched, <c>error.type</c> only on errors): a metric's labels are fixed
    /// when it is made, so these are all made at once rather than from the first measurement's tags.
    /// </summary>
    private static readonly Dictionary<string, string[]> KnownLabels = new(StringComparer.Ordinal)
    {
        ["http.server.request.duration"] = ["error.type", "http.request.method", "http.response.status_code", "http.route", "network.protocol.version", "url.scheme"],
        ["http.server.active_requests"] = ["http.request.method", "url.scheme"],
    };

    /// <summary>The instrument's name in Prometheus's alphabet, with its unit; counters end in <c>_total</c>.</summary>
    internal static string MetricName(Instrument instrument)
    {
        if (Renamed.TryGetValue(instrument.Name, out var renamed))
        {
            return renamed;
        }
        var name = string.Create(instrument.Name.Length, instrument.Name, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsAsciiLetterOrDigit(source[i]) ? char.ToLowerInvariant(source[i]) : '_';
            }
        });
        var unit = instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        };
        // Npgsql's db.client.operation.npgsql.bytes_written already says bytes.
        if (unit.Length > 0 && !name.Contains(unit[1..], StringComparison.Ordinal))
        {
            name += unit;
        }
        if (Kind(instrument) == SinkKind.Counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }
        return name;
    }

    private static SinkKind Kind(Instrument instrument) => Levels.Contains(instrument.Name) ? SinkKind.Gauge : instrument.GetType().Name switch
    {
        "Counter`1" => SinkKind.Counter,
        "ObservableCounter`1" => SinkKind.Counter,
        "Histogram`1" => SinkKind.Histogram,
        _ => SinkKind.Gauge,
    };

    private enum SinkKind
    {
        Counter,
        Gauge,
        Histogram,
    }

    /// <summary>One Prometheus metric, fed by one instrument (or by several of the same name, as Npgsql's pools are).</summary>
    private sealed class Sink
    {
        private readonly SinkKind _kind;
        private readonly bool _observable;
        private readonly bool _increments;
        private readonly Instrument _instrument;
        private readonly IMetricFactory _factory;
        private readonly Lock _lock = new();
        private volatile Collector? _metric;
        private string[] _labelNames = [];
        private HashSet<string>? _seen;

        public Sink(Instrument instrument, IMetricFactory factory)
        {
            _instrument = instrument;
            _factory = factory;
            _kind = Kind(instrument);
            _observable = instrument.IsObservable;
            // Counters and up-down counters hand over increments; observable ones and gauges hand over the value.
            _increments = instrument.GetType().Name is "Counter`1" or "UpDownCounter`1" && !Levels.Contains(instrument.Name);
        }

        public bool IsHistogram => _kind == SinkKind.Histogram;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var metric = _metric ?? Create(tags);
            var values = ArrayPool<string>.Shared.Rent(_labelNames.Length);
            try
            {
                var span = values.AsSpan(0, _labelNames.Length);
                Values(tags, span);
                switch (metric)
                {
                    case Counter counter when _increments:
                        counter.WithLabels(span).Inc(Math.Max(0, value));
                        break;
                    case Counter counter:
                        counter.WithLabels(span).IncTo(value);
                        break;
                    case Gauge gauge when _increments:
                        gauge.WithLabels(span).Inc(value);
                        break;
                    case Gauge gauge:
                        gauge.WithLabels(span).Set(value);
                        break;
                    case Histogram histogram:
                        histogram.WithLabels(span).Observe(value);
                        break;
                }
                if (_observable && _seen is { } seen)
                {
                    seen.Add(string.Join('\u001f', span.ToArray()));
                }
            }
            finally
            {
                ArrayPool<string>.Shared.Return(values);
            }
        }

        public void BeginObservation()
        {
            if (_observable)
            {
                _seen = new HashSet<string>(StringComparer.Ordinal);
            }
        }

        /// <summary>A gauge's series that its callback did not report this time (a queue that went away) is removed.</summary>
        public void EndObservation()
        {
            if (!_observable || _seen is not { } seen)
            {
                return;
            }
            _seen = null;
            switch (_metric)
            {
                case Gauge gauge:
                    RemoveUnseen(gauge, seen);
                    break;
                case Counter counter:
                    RemoveUnseen(counter, seen);
                    break;
            }
        }

        private static void RemoveUnseen<TChild>(Collector<TChild> metric, HashSet<string> seen)
            where TChild : ChildBase
        {
            foreach (var labels in metric.GetAllLabelValues().ToList())
            {
                if (!seen.Contains(string.Join('\u001f', labels)))
                {
                    metric.RemoveLabelled(labels);
                }
            }
        }

        /// <summary>Label values in the order of the metric's label names; a tag it was not created with is left out.</summary>
        private void Values(ReadOnlySpan<KeyValuePair<string, object?>> tags, Span<string> values)
        {
            values.Fill("");
            foreach (var (key, value) in tags)
            {
                var at = Array.IndexOf(_labelNames, LabelName(key));
                if (at >= 0)
                {
                    values[at] = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
                }
            }
        }

        /// <summary>The metric is made at the first measurement: its labels are that measurement's tags.</summary>
        private Collector Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var keys = new List<string>(KnownLabels.GetValueOrDefault(_instrument.Name) ?? []);
            foreach (var tag in tags)
            {
                keys.Add(tag.Key);
            }
            var names = keys.Select(LabelName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            lock (_lock)
            {
                if (_metric is { } made)
                {
                    return made;
                }
                var name = MetricName(_instrument);
                var help = string.IsNullOrWhiteSpace(_instrument.Description) ? _instrument.Name : _instrument.Description.ReplaceLineEndings(" ");
                Collector metric = _kind switch
                {
                    SinkKind.Counter => _factory.CreateCounter(name, help, names),
                    SinkKind.Histogram => _factory.CreateHistogram(name, help, names, new HistogramConfiguration
                    {
                        Buckets = Buckets(_instrument),
                    }),
                    _ => _factory.CreateGauge(name, help, names),
                };
                _labelNames = names;
                _metric = metric;
                return metric;
            }
        }

        /// <summary>The instrument's own boundaries when it advises some (the reply latency's), else by its unit.</summary>
        private static double[] Buckets(Instrument instrument) => instrument switch
        {
            Histogram<double> { Advice.HistogramBucketBoundaries: { Count: > 0 } advised } => [.. advised],
            Histogram<long> { Advice.HistogramBucketBoundaries: { Count: > 0 } advised } => [.. advised.Select(b => (double)b)],
            Histogram<int> { Advice.HistogramBucketBoundaries: { Count: > 0 } advised } => [.. advised.Select(b => (double)b)],
            _ when instrument.Unit == "s" => SecondsBuckets,
            _ => CountBuckets,
        };

        private static string LabelName(string key) => LabelNames.GetOrAdd(key, static key => string.Create(key.Length, key, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsAsciiLetterOrDigit(source[i]) ? source[i] : '_';
            }
        }));

        /// <summary>Tag keys are a handful of literals; each is translated once.</summary>
        private static readonly ConcurrentDictionary<string, string> LabelNames = new(StringComparer.Ordinal);
    }
}
