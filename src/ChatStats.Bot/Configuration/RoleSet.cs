namespace ChatStats.Bot.Configuration;

/// <summary>Which roles this process runs.</summary>
internal sealed record RoleSet(bool Bot, bool Web, bool Worker = false)
{
    public override string ToString() => (Bot, Web, Worker) switch
    {
        (true, true, true) => "run",
        (true, false, false) => "bot",
        (false, true, false) => "web",
        (false, false, true) => "worker",
        (false, false, false) => "none",
        _ => string.Join('+', new[] { Bot ? "bot" : null, Web ? "web" : null, Worker ? "worker" : null }.OfType<string>()),
    };
}
