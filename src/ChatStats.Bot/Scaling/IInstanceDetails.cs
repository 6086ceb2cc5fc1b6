namespace ChatStats.Bot.Scaling;

/// <summary>
/// What a process adds to its heartbeat row (<c>instances.details</c>, JSON) for the processes that cannot ask it
/// directly: the bot role's limits report, read by a web process on another host.
/// </summary>
internal interface IInstanceDetails
{
    string BuildJson();
}
