using ChatStats.Bot.Configuration;
using ChatStats.Throttling.Shared;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Scaling;

internal static class ScalingExtensions
{
    /// <summary>
    /// What several instances share: the Redis the limits are counted in (when <c>Redis:ConnectionString</c> or
    /// REDIS_URL is set) and the count of live instances the limits are divided by while Redis is away.
    /// </summary>
    public static IHostApplicationBuilder AddSharedLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<RedisOptions>(RedisOptions.Section);
        builder.Services.AddSingleton<DeploymentPeers>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeploymentPeers>());
        builder.Services.AddSingleton<SharedLimits>();
        return builder;
    }
}

/// <summary>The shared store when Redis is configured, and how the limits are counted right now.</summary>
internal sealed class SharedLimits : IAsyncDisposable
{
    public SharedLimits(IOptions<RedisOptions> options, TimeProvider time, ILogger<SharedLimits> logger)
    {
        var o = options.Value;
        if (!o.Enabled)
        {
            return;
        }
        // Connecting does not wait for Redis: a process that starts while Redis is down counts locally until it answers.
        Store = SharedStore.ConnectAsync(new SharedStoreOptions
        {
            Configuration = o.ConnectionString,
            KeyPrefix = o.KeyPrefix,
            OperationTimeout = TimeSpan.FromMilliseconds(o.OperationTimeoutMs),
        }, time, logger).GetAwaiter().GetResult();
        if (Store.IsAvailable)
        {
            logger.LogInformation("Limits are shared through Redis ({Endpoints})", Store.Endpoints);
        }
    }

    public SharedStore? Store { get; }

    /// <summary>"process" without Redis, "shared" while Redis counts, "local" while it is away and each instance counts its share.</summary>
    public string Mode => Store is null ? "process" : Store.IsAvailable ? "shared" : "local";

    public async ValueTask DisposeAsync()
    {
        if (Store is not null)
        {
            await Store.DisposeAsync();
        }
    }
}
