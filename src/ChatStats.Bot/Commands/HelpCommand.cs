using System.Text;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands;

internal sealed class HelpCommand(Replies replies, IServiceProvider services) : IBotCommand
{
    public string Name => "help";
    public string DescriptionKey => "CommandHelp";

    public Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("HelpTitle")).Append("</b>\n");
        foreach (var command in services.GetServices<IBotCommand>())
        {
            text.Append('/').Append(command.Name).Append(" — ").Append(Html.Escape(context.T(command.DescriptionKey))).Append('\n');
        }
        text.Append('\n').Append(context.T("HelpFooter"));
        return replies.SendAsync(context, text.ToString(), ct);
    }
}
