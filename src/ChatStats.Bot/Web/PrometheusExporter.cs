using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace ChatStats.Bot.Web;

/// <summary>
/// Listens to our meters, Npgsql's and the runtime's, and writes what it has seen in Prometheus text format.
/// (No Prometheus package is served here; System.Diagnostics.Metrics plus this is all /metrics needs.)
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] CountBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _collectLock = new();

    public PrometheusExporter(IEnumerable<string>? meterPrefixes = null)
    {
        var prefixes = meterPrefixes?.ToArray() ?? ["ChatStats", "Npgsql", "System.Runtime"];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (prefixes.Any(p => instrument.Meter.Name.StartsWith(p, StringComparison.Ordinal)))
            {
                listener.EnableMeasurementEvents(instrument, _series.GetOrAdd(instrument, i => new Series(i)));
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((i, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>((i, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>((i, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.Start();
    }

    public string Collect()
    {
        var sb = new StringBuilder(8192);
        lock (_collectLock)
        {
            foreach (var series in _series.Values)
            {
                series.ResetObservations();
            }
            _listener.RecordObservableInstruments();
            foreach (var series in _series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                series.Write(sb);
            }
        }
        return sb.ToString();
    }

    public void Dispose() => _listener.Dispose();

    internal static string MetricName(Instrument instrument)
    {
        var name = new StringBuilder();
        foreach (var c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_');
        }
        var unit = instrument.Unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => "",
        };
        if (unit.Length > 0 && !name.ToString().EndsWith(unit, StringComparison.Ordinal))
        {
            name.Append(unit);
        }
        return name.ToString();
    }

    private sealed class Series(Instrument instrument)
    {
        private readonly ConcurrentDictionary<string, Point> _points = new();
        private readonly bool _isHistogram = instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal);
        private readonly bool _isCounter = instrument.GetType().Name is "Counter`1" or "ObservableCounter`1";
        private readonly bool _isObservable = instrument.IsObservable;
        private readonly double[] _buckets = instrument.Unit is "s" ? SecondsBuckets : instrument.Unit == "ms" ? [.. SecondsBuckets.Select(b => b * 1000)] : CountBuckets;

        public string Name { get; } = MetricName(instrument);

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = Labels(tags);
            var point = _points.GetOrAdd(key, _ => new Point(_buckets.Length));
            lock (point)
            {
                if (_isHistogram)
                {
                    point.Count++;
                    point.Sum += value;
                    for (var i = 0; i < _buckets.Length; i++)
                    {
                        if (value <= _buckets[i])
                        {
                            point.Buckets[i]++;
                        }
                    }
                }
                else if (_isObservable)
                {
                    // Observable instruments report the current absolute value on each collection.
                    point.Sum = value;
                }
                else
                {
                    point.Sum += value;
                }
            }
        }

        public void ResetObservations()
        {
            if (_isObservable)
            {
                _points.Clear();
            }
        }

        public void Write(StringBuilder sb)
        {
            if (_points.IsEmpty)
            {
                return;
            }
            var name = _isCounter && !Name.EndsWith("_total", StringComparison.Ordinal) ? Name + "_total" : Name;
            var type = _isHistogram ? "histogram" : _isCounter ? "counter" : "gauge";
            if (!string.IsNullOrEmpty(instrument.Description))
            {
                sb.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description.Replace('\n', ' ')).Append('\n');
            }
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var (labels, point) in _points.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                lock (point)
                {
                    if (_isHistogram)
                    {
                        for (var i = 0; i < _buckets.Length; i++)
                        {
                            var le = $"le=\"{_buckets[i].ToString(CultureInfo.InvariantCulture)}\"";
                            sb.Append(name).Append("_bucket{").Append(labels.Length > 0 ? labels + "," : "").Append(le).Append("} ").Append(point.Buckets[i]).Append('\n');
                        }
                        sb.Append(name).Append("_bucket{").Append(labels.Length > 0 ? labels + "," : "").Append("le=\"+Inf\"} ").Append(point.Count).Append('\n');
                        sb.Append(name).Append("_sum").Append(Braces(labels)).Append(' ').Append(point.Sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                        sb.Append(name).Append("_count").Append(Braces(labels)).Append(' ').Append(point.Count).Append('\n');
                    }
                    else
                    {
                        sb.Append(name).Append(Braces(labels)).Append(' ').Append(point.Sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                    }
                }
            }
        }

        private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }
            var parts = new List<string>(tags.Length);
            foreach (var (key, value) in tags)
            {
                var label = new StringBuilder();
                foreach (var c in key)
                {
                    label.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
                }
                var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
                parts.Add($"{label}=\"{text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
            }
            parts.Sort(StringComparer.Ordinal);
            return string.Join(',', parts);
        }
    }

    private sealed class Point(int buckets)
    {
        public double Sum;
        public long Count;
        public readonly long[] Buckets = new long[buckets];
    }
}
