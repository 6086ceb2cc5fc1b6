using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ChatStats.Jobs;
using ChatStats.Jobs.TestWorker;
using Npgsql;

// A worker process for the job tests: the same JobWorker as chatstats, with test jobs, so that tests can run two
// processes side by side and kill one with SIGKILL.
// usage: ChatStats.Jobs.TestWorker CONNECTION_STRING QUEUE WORKERS LEASE_SECONDS
var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var connectionString = args[0];
builder.Services.AddSingleton(NpgsqlDataSource.Create(connectionString));
builder.Services.AddSingleton(TimeProvider.System);
var queue = args.Length > 1 ? args[1] : "default";
var workers = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2;
var lease = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 30;
builder.Services.AddJobs(_ => new JobsOptions
{
    Queues = new Dictionary<string, QueueOptions> { [queue] = new() { Workers = workers, TimeoutSeconds = 600, SoftTimeoutSeconds = 600, MaxAttempts = 3 } },
    Lease = TimeSpan.FromSeconds(lease),
    RescueInterval = TimeSpan.FromSeconds(1),
    PollInterval = TimeSpan.FromMilliseconds(200),
    ShutdownGrace = TimeSpan.FromSeconds(2),
});
builder.Services.AddJob<SleepJob, SleepArgs>("sleep");
builder.Services.AddJobWorkers();
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
using var host = builder.Build();
await host.RunAsync();

namespace ChatStats.Jobs.TestWorker
{
    public sealed record SleepArgs(double Seconds, string Label);

    /// <summary>Records when each run starts and ends (table test_runs), sleeping in between.</summary>
    public sealed class SleepJob(NpgsqlDataSource dataSource) : IJob<SleepArgs>
    {
        public async Task RunAsync(SleepArgs args, JobContext context)
        {
            await using (var start = dataSource.CreateCommand("INSERT INTO test_runs (job_id, attempt, label, pid, started_at) VALUES ($1, $2, $3, $4, clock_timestamp())"))
            {
                start.Parameters.Add(new NpgsqlParameter<long> { TypedValue = context.Id });
                start.Parameters.Add(new NpgsqlParameter<int> { TypedValue = context.Attempt });
                start.Parameters.Add(new NpgsqlParameter<string> { TypedValue = args.Label });
                start.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
                await start.ExecuteNonQueryAsync();
            }
            await Task.Delay(TimeSpan.FromSeconds(args.Seconds), context.Cancellation);
            await using var end = dataSource.CreateCommand("UPDATE test_runs SET ended_at = clock_timestamp() WHERE job_id = $1 AND attempt = $2 AND pid = $3");
            end.Parameters.Add(new NpgsqlParameter<long> { TypedValue = context.Id });
            end.Parameters.Add(new NpgsqlParameter<int> { TypedValue = context.Attempt });
            end.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
            await end.ExecuteNonQueryAsync();
        }
    }
}
