using System.Text.Json;

namespace ChatStats.Jobs;

/// <summary>A registered job class: how to make its arguments from stored JSON and run it.</summary>
internal sealed record JobDescriptor(string Name, Type JobType, Func<ReadOnlyMemory<byte>, object?> ReadArgs, Func<object, object?, JobContext, Task> Run);

/// <summary>The job classes this application knows, by the stable name stored with each job.</summary>
public sealed class JobRegistry
{
    private readonly Dictionary<string, JobDescriptor> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, string> _byType = [];

    public JsonSerializerOptions ArgsOptions { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Registers a job class; <paramref name="name"/> defaults to the class name and must never change once jobs are stored.</summary>
    public void Add<TJob, TArgs>(string? name = null) where TJob : IJob<TArgs>
    {
        name ??= typeof(TJob).Name;
        _byName[name] = new JobDescriptor(name, typeof(TJob),
            json => JsonSerializer.Deserialize<TArgs>(json.Span, ArgsOptions),
            (job, args, context) => ((TJob)job).RunAsync((TArgs)args!, context));
        _byType[typeof(TJob)] = name;
    }

    public string NameOf<TJob>() =>
        _byType.TryGetValue(typeof(TJob), out var name) ? name : throw new InvalidOperationException($"{typeof(TJob).Name} is not registered: call services.AddJob<{typeof(TJob).Name}, …>().");

    internal bool TryGet(string name, out JobDescriptor job) => _byName.TryGetValue(name, out job!);

    public IEnumerable<string> Names => _byName.Keys;
}
