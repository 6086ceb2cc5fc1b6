using BenchmarkDotNet.Running;
using ChatStats.Benchmarks;

// deploy/dev.sh bench ingest [--updates N] [--runs N]   end-to-end ingest load run
// deploy/dev.sh bench micro [BenchmarkDotNet args]      hot-path micro-benchmarks
return args switch
{
    ["ingest", .. var rest] => await IngestLoadRun.RunAsync(rest),
    ["micro", .. var rest] => RunMicro(rest),
    _ => Usage(),
};

static int RunMicro(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(IngestLoadRun).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ChatStats.Benchmarks ingest [--updates N] [--runs N] | micro [BenchmarkDotNet arguments]");
    return 2;
}
