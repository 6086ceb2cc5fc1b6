namespace ChatStats.Bot.Tests.Jobs;

/// <summary>
/// Test classes whose hosts run Hangfire servers run alone, not beside other classes' hosts in this process: two hosts
/// at once lose jobs between them (issue #11's open item), which production, one host per process, does not do.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HangfireHostsCollection
{
    public const string Name = "Hangfire hosts";
}
