using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatStats.Jobs;

public static class JobsExtensions
{
    /// <summary>The job client and registry; add <see cref="AddJobWorkers"/> in processes that run jobs.</summary>
    public static IServiceCollection AddJobs(this IServiceCollection services, Func<IServiceProvider, JobsOptions> options)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp =>
        {
            var registry = new JobRegistry();
            foreach (var registration in sp.GetServices<JobRegistration>())
            {
                registration.Apply(registry);
            }
            return registry;
        });
        services.TryAddSingleton<JobClient>();
        return services;
    }

    /// <summary>Workers for the configured queues, and the recurring-job scheduler.</summary>
    public static IServiceCollection AddJobWorkers(this IServiceCollection services)
    {
        services.TryAddSingleton<JobWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<JobWorker>());
        services.TryAddSingleton<RecurringScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<RecurringScheduler>());
        return services;
    }

    /// <summary>Registers a job class under a stable name (default: the class name), resolved per run in a scope.</summary>
    public static IServiceCollection AddJob<TJob, TArgs>(this IServiceCollection services, string? name = null) where TJob : class, IJob<TArgs>
    {
        services.AddTransient<TJob>();
        services.AddSingleton(new JobRegistration(registry => registry.Add<TJob, TArgs>(name)));
        return services;
    }
}

/// <summary>A deferred <see cref="JobRegistry.Add{TJob, TArgs}"/>, so registrations from anywhere end up in one registry.</summary>
public sealed record JobRegistration(Action<JobRegistry> Apply);
