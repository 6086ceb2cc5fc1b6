namespace ChatStats.Bot.Commands;

internal sealed class StartCommand(Replies replies) : IBotCommand
{
    public string Name => "start";
    public string DescriptionKey => "CommandStart";

    public Task ExecuteAsync(CommandContext context, CancellationToken ct) =>
        replies.SendAsync(context, context.T(context.IsGroup ? "StartGroup" : "StartPrivate"), ct);
}
