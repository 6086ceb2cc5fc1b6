using BenchmarkDotNet.Running;
using ChatStats.Benchmarks;

// deploy/dev.sh bench ingest [--updates N] [--runs N] [--against REV]   end-to-end ingest load run (A/B against another commit)
// deploy/dev.sh bench webhook [--seconds N] [--concurrency N] [--runs N]   webhook receiving (wrk): updates/s stored durably
// deploy/dev.sh bench micro [BenchmarkDotNet args]      hot-path micro-benchmarks
// deploy/dev.sh bench stats [--messages N] [--members N] [--iterations N]   statistics commands on a big chat
// deploy/dev.sh bench flood [--history N] [--network-ms N] [--runs N] [--commands /a,/b,...]   1,000 people x 6 commands against Telegram's limits: recording vs plain messages, sends, 429s, merged and shed answers
// deploy/dev.sh bench steady [--messages N] [--seconds N] [--rate N] [--groups N] [--commands-per-second N] [--keep-seed]   reply latency per command under a steady ingest load, big chat of N messages; --keep-seed seeds it once into the server (with BENCH_CLUSTER=DIR)
// deploy/dev.sh bench import [--messages N] [--runs N] [--words-ab]   chatstats import of a generated export (--words-ab: interleaved with imports into a schema without the word rollup)
// deploy/dev.sh bench scale [--messages N] [--askers N] [--instances 1,2] [--runs N]   one bot process against two (Redis-shared limits): updates/s recorded, commands/s answered
// deploy/dev.sh bench jobs [--jobs N] [--workers N] [--max-connections N] [--runs N] [--against REV]   Hangfire: no-op jobs/s, enqueue-to-start latency across processes and in one
return args switch
{
    ["ingest", .. var rest] => await IngestLoadRun.RunAsync(rest),
    ["webhook", .. var rest] => await WebhookLoadRun.RunAsync(rest),
    ["micro", .. var rest] => RunMicro(rest),
    ["stats", .. var rest] => await StatsLoadRun.RunAsync(rest),
    ["import", .. var rest] => await ImportLoadRun.RunAsync(rest),
    ["jobs", .. var rest] => await JobsLoadRun.RunAsync(rest),
    ["flood", .. var rest] => await FloodLoadRun.RunAsync(rest),
    ["steady", .. var rest] => await SteadyLoadRun.RunAsync(rest),
    ["scale", .. var rest] => await ScaleLoadRun.RunAsync(rest),
    _ => Usage(),
};

static int RunMicro(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(IngestLoadRun).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ChatStats.Benchmarks ingest [--updates N] [--runs N] [--against-bot DIR] | webhook [--seconds N] [--concurrency N] | stats [--messages N] [--members N] | import [--messages N] [--runs N] [--words-ab] | flood [--history N] [--network-ms N] [--runs N] | steady [--messages N] [--seconds N] [--rate N] [--groups N] [--commands-per-second N] [--keep-seed] | scale [--messages N] [--askers N] [--instances 1,2] [--runs N] | jobs [--jobs N] [--workers N] [--max-connections N] [--against-bench DIR] | micro [BenchmarkDotNet arguments]");
    return 2;
}
