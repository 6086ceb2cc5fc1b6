using System.Diagnostics.Metrics;

namespace ChatStats.Bot.Ingest;

/// <summary>Instruments of the ingest path, exported on /metrics.</summary>
internal static class IngestMetrics
{
    public const string MeterName = "ChatStats.Bot";
    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> UpdatesHandled = Meter.CreateCounter<long>("chatstats.updates_handled", "{update}", "Updates recorded and handled, by kind.");
    public static readonly Counter<long> UpdatesFailed = Meter.CreateCounter<long>("chatstats.updates_failed", "{update}", "Updates dead-lettered, by stage.");
    public static readonly Histogram<double> IngestLatency = Meter.CreateHistogram<double>("chatstats.ingest.latency", "s", "From receipt of the oldest update in a chunk to its rows being committed.");
    public static readonly Histogram<double> ProcessDuration = Meter.CreateHistogram<double>("chatstats.ingest.process_duration", "s", "Time to record one chunk of inbox updates.");
    public static readonly Histogram<int> ChunkSize = Meter.CreateHistogram<int>("chatstats.ingest.chunk_size", "{update}", "Updates recorded per transaction.");
    public static readonly Counter<long> MessagesWritten = Meter.CreateCounter<long>("chatstats.ingest.messages", "{message}", "Message rows submitted for writing.");
    public static readonly Counter<long> BatchRetries = Meter.CreateCounter<long>("chatstats.ingest.batch_fallbacks", "{batch}", "Chunks re-written update by update to isolate a bad one.");
    public static readonly Histogram<double> InboxCommitDuration = Meter.CreateHistogram<double>("chatstats.inbox.commit_duration", "s", "Time to insert and commit one group of received updates into the inbox.");
    public static readonly Histogram<int> InboxGroupSize = Meter.CreateHistogram<int>("chatstats.inbox.group_size", "{update}", "Received updates stored per inbox commit.");
    public static readonly Counter<long> DuplicatesSkipped = Meter.CreateCounter<long>("chatstats.ingest.duplicates", "{update}", "Updates received more than once (a replay or a webhook retry), recorded and answered once.");
    public static readonly Counter<long> WordTextsFolded = Meter.CreateCounter<long>("chatstats.words.texts_folded", "{text}", "Texts whose words were folded into the word rollup (added, or taken out by an edit or a delete).");
    public static readonly Histogram<double> HandlerDuration = Meter.CreateHistogram<double>("chatstats.handler.duration", "s", "Time a handler took for one update.");
}
