using System.ComponentModel.DataAnnotations;
using ChatStats.Bot.Configuration;
using ChatStats.Bot.Data;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Prometheus;

namespace ChatStats.Bot.Web;

/// <summary>Where a process without the web role serves /metrics (the web role serves it on Web:Urls).</summary>
internal sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>
    /// Port of a /metrics listener for a bot or worker process that has no web role (supervisor's chatstats-bot and
    /// chatstats-worker: 9101 and 9102 in deploy/); 0, the default, serves none.
    /// </summary>
    [Range(0, 65535, ErrorMessage = "must be a TCP port (1-65535), or 0 for none")]
    public int Port { get; set; }

    /// <summary>The address that listener binds: loopback unless Prometheus scrapes from another host.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "must be a host name or address, such as localhost or 0.0.0.0")]
    public string Host { get; set; } = "localhost";
}

internal static class MetricsExtensions
{
    /// <summary>
    /// The process's metrics registry (prometheus-net's, one per host: tests start several in one process), our meters
    /// published into it, the process's own figures (RSS, CPU, handles), and a /metrics listener for a process
    /// without the web role when Metrics:Port is set.
    /// </summary>
    public static IHostApplicationBuilder AddMetrics(this IHostApplicationBuilder builder, RoleSet roles)
    {
        builder.Services.AddValidatedOptions<MetricsOptions>(MetricsOptions.Section);
        builder.Services.AddSingleton(_ =>
        {
            var registry = Metrics.NewCustomRegistry();
            // process_working_set_bytes (RSS on Linux), process_cpu_seconds_total, process_open_handles, threads, start time.
            DotNetStats.Register(registry);
            return registry;
        });
        builder.Services.AddSingleton(sp =>
        {
            var meters = sp.GetRequiredService<IMeterFactory>();
            var publisher = new MeterPublisher(sp.GetRequiredService<CollectorRegistry>(), meters);
            Throttling.ProcessLimits.Publish(meters.Create("ChatStats.Bot.Process"), Throttling.ProcessLimits.Read());
            return publisher;
        });
        builder.Services.AddSingleton<Throttling.MemoryTrend>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Throttling.MemoryTrend>());
        // Made at start (the listener below asks for it), so that it sees every instrument from the first measurement on.
        builder.Services.AddHostedService(sp => new MetricsListener(
            sp.GetRequiredService<MeterPublisher>(), sp.GetRequiredService<CollectorRegistry>(), roles.Web ? null : sp.GetRequiredService<IOptions<MetricsOptions>>().Value,
            sp.GetRequiredService<ILogger<MetricsListener>>()));
        return builder;
    }

    /// <summary>/metrics on the web role: prometheus-net's exporter over this host's registry.</summary>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this WebApplication app) =>
        app.MapMetrics(s => s.Registry = app.Services.GetRequiredService<CollectorRegistry>(), "/metrics")
            .WithDisplayName("Prometheus metrics");
}

/// <summary>prometheus-net's stand-alone Kestrel listener for /metrics, in a process without the web role.</summary>
internal sealed class MetricsListener(MeterPublisher publisher, CollectorRegistry registry, MetricsOptions? options, ILogger<MetricsListener> logger) : IHostedService, IDisposable
{
    private KestrelMetricServer? _server;

    /// <summary>Asked for so that it is made when the host starts, before the first measurement.</summary>
    public MeterPublisher Publisher => publisher;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options is not { Port: > 0 })
        {
            return Task.CompletedTask;
        }
        // prometheus-net's listener fails inside its own web host with a bare bind error; say what to change instead.
        try
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, options.Port);
            probe.Start();
            probe.Stop();
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw new InvalidOperationException(
                $"Metrics:Port {options.Port} is taken by another process: set Metrics__Port to a free port (each bot and worker process on a host needs its own), or 0 for no /metrics listener.", ex);
        }
        _server = new KestrelMetricServer(new KestrelMetricServerOptions
        {
            Hostname = options.Host,
            Port = (ushort)options.Port,
            ConfigureExporter = s => s.Registry = registry,
        });
        _server.Start();
        logger.LogInformation("Serving /metrics on http://{Host}:{Port}/metrics", options.Host, options.Port);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync();
        }
    }

    public void Dispose() => _server?.Dispose();
}
