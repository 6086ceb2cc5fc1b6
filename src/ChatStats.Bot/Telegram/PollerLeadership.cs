using ChatStats.Bot.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Telegram;

/// <summary>
/// Exactly one poller per bot token across every host: Telegram lets one getUpdates run at a time and answers a second
/// with 409, so bot processes beside each other would take turns at cancelling each other. The one that holds a
/// PostgreSQL session advisory lock (keyed by the bot's id) polls; the others stand by and try for the lock every
/// <see cref="RetryInterval"/>. The lock lives as long as its session: a leader killed on the database's host
/// loses it at once (the kernel closes the socket), a leader whose host vanishes loses it when the server's TCP keepalive
/// gives up (<see cref="KeepaliveSql"/>, about 8 s). The leader pings its lock session every <see cref="CheckInterval"/>
/// and stops polling the moment the ping fails, before the server can hand the lock on, so two never poll at once.
/// <para>Needs a direct PostgreSQL session: a pooler in transaction mode (PgBouncer's default) cannot hold a session lock;
/// point Database:ConnectionString of the bot role at PostgreSQL itself or at a session-mode pool.</para>
/// </summary>
internal sealed class PollerLeadership(IOptions<Data.DatabaseOptions> database, IOptions<TelegramOptions> telegram, TimeProvider time, ILogger<PollerLeadership> logger)
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>The server gives up on a silent leader after 4 + 2 × 2 s; these settings are per session.</summary>
    private const string KeepaliveSql = "SET tcp_keepalives_idle = 4; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 2";

    private volatile bool _leader;
    private volatile bool _standingBy;

    /// <summary>True while this process holds the lock and polls.</summary>
    public bool IsLeader => _leader;

    /// <summary>True while another instance polls and this one waits to take over.</summary>
    public bool IsStandingBy => _standingBy;

    /// <summary>The lock's key: the bot's id (the token's part before the colon), so two bots on one database do not exclude each other.</summary>
    private string LockName => $"chatstats-poller:{telegram.Value.BotToken.Split(':')[0]}";

    /// <summary>Runs <paramref name="poll"/> whenever this process holds the lock, until <paramref name="ct"/> ends.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> poll, CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var session = await OpenSessionAsync(ct);
                while (!ct.IsCancellationRequested)
                {
                    if (await TryLockAsync(session, ct))
                    {
                        failures = 0;
                        await LeadAsync(session, poll, ct);
                        // Leading ended because the session failed (or we are stopping): a new session is needed either way.
                        break;
                    }
                    if (!_standingBy)
                    {
                        _standingBy = true;
                        logger.LogInformation("Another instance polls Telegram for this bot; standing by to take over");
                    }
                    failures = 0;
                    await Task.Delay(RetryInterval, time, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                _standingBy = false;
                var delay = ChatStats.Telegram.Backoff.Default.Delay(failures++);
                logger.LogWarning("Cannot reach the database to elect the poller ({Error}); nobody polls from here until it answers; retrying in {Delay}", ex.Message, delay);
                await Task.Delay(delay, time, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        _standingBy = false;
    }

    private async Task<NpgsqlConnection> OpenSessionAsync(CancellationToken ct)
    {
        // Its own session outside the pools: a pooled connection would go back to the pool (and the lock with it) or hold a
        // slot of the bound the queries need.
        var builder = new NpgsqlConnectionStringBuilder(database.Value.ConnectionString)
        {
            Pooling = false,
            ApplicationName = "chatstats poller election",
            Timeout = 5,
            CommandTimeout = 5,
        };
        var session = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await session.OpenAsync(ct);
            await using var keepalive = new NpgsqlCommand(KeepaliveSql, session);
            await keepalive.ExecuteNonQueryAsync(ct);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> TryLockAsync(NpgsqlConnection session, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(@lock, 0))", session).With("lock", LockName);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private async Task LeadAsync(NpgsqlConnection session, Func<CancellationToken, Task> poll, CancellationToken ct)
    {
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _leader = true;
        _standingBy = false;
        logger.LogInformation("This instance now polls Telegram for the bot (it holds the poller lock)");
        var polling = poll(leading.Token);
        try
        {
            while (!polling.IsCompleted)
            {
                await Task.WhenAny(polling, Task.Delay(CheckInterval, time, ct));
                if (polling.IsCompleted || ct.IsCancellationRequested)
                {
                    break;
                }
                try
                {
                    await using var ping = new NpgsqlCommand("SELECT 1", session);
                    await ping.ExecuteScalarAsync(ct);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    logger.LogError("Lost the database session that holds the poller lock ({Error}); stopping polling so that no two instances poll at once", ex.Message);
                    break;
                }
            }
        }
        finally
        {
            await leading.CancelAsync();
            try
            {
                await polling;
            }
            catch (OperationCanceledException)
            {
            }
            _leader = false;
        }
    }
}
