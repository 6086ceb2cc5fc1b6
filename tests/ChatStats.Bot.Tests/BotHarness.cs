using ChatStats.Bot.Data;
using ChatStats.Telegram;
using ChatStats.Telegram.Receiving;
using ChatStats.Testing;
using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Tests;

/// <summary>The real chatstats host (bot role, optionally web) against the fake Bot API and a test database.</summary>
internal sealed class BotHarness : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private BotHarness(FakeBotApi api, IHost host)
    {
        Api = api;
        Host = host;
    }

    public FakeBotApi Api { get; }
    public IHost Host { get; }

    public static async Task<BotHarness> StartAsync(FakeBotApi api, string connectionString, bool web = false,
        IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, bool worker = false)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Telegram:BotToken"] = FakeBotApi.Token,
            ["Telegram:ApiBaseUrl"] = api.BaseUrl,
            ["Telegram:PollTimeoutSeconds"] = "25",
            ["Database:ConnectionString"] = connectionString,
            ["Database:ConnectionTimeoutSeconds"] = "5",
            ["Web:Urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }
        var host = AppHost.Build(new RoleSet(Bot: true, Web: web, Worker: worker), [], overrides, s =>
        {
            // Tests wait for catch-up, not for production-sized backoffs.
            s.AddSingleton(new LongPollerOptions
            {
                PollTimeout = TimeSpan.FromSeconds(25),
                ErrorBackoff = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
                HandlerBackoff = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
            });
            services?.Invoke(s);
        });
        await host.StartAsync();
        return new BotHarness(api, host);
    }

    public static BotHarness Wrap(FakeBotApi api, IHost host) => new(api, host);

    public T Get<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    /// <summary>Where the web role listens (it binds a free loopback port).</summary>
    public string WebUrl => ((Microsoft.AspNetCore.Builder.WebApplication)Host).Urls.First();

    /// <summary>Waits until everything sent so far is confirmed, recorded and handled: nothing more is on its way.</summary>
    public async Task SettledAsync()
    {
        if (Api.LastUpdateId > 0)
        {
            // Polling: the last update is confirmed by the poll after it (webhook deliveries have nothing to confirm).
            await Api.WaitUntilConfirmedAsync(Api.LastUpdateId, Patience);
        }
        var dataSource = Get<Npgsql.NpgsqlDataSource>();
        await Eventually.TrueAsync(async () =>
        {
            await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM update_inbox");
            return (long)(await cmd.ExecuteScalarAsync())! == 0;
        }, "the inbox to drain");
        // The inbox empties when a chunk commits; its questions reach the dispatcher just after. In this order, each read
        // after the one that makes it final: nothing left to record, nothing recorded still to hand over, nothing to answer.
        var processor = Get<ChatStats.Bot.Ingest.IngestBatchProcessor>();
        var dispatcher = Get<ChatStats.Bot.Ingest.UpdateDispatcher>();
        await Eventually.TrueAsync(() => processor.Recording == 0, "the chunks recorded to be handed to the dispatcher");
        await Eventually.TrueAsync(() => dispatcher.Idle, () => $"the handlers to finish ({dispatcher.Waiting} waiting, {dispatcher.InFlight} running)");
    }

    public async Task StopAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Host.StopAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Host.Dispose();
        }
    }
}
