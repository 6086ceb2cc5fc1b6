using ChatStats.Bot.Stats;

namespace ChatStats.Bot.Commands;

internal static class CommandsExtensions
{
    /// <summary>Every chat command, in the order /help lists them, plus what they read.</summary>
    public static IHostApplicationBuilder AddCommands(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<BotIdentity>();
        builder.Services.AddSingleton<Replies>();
        builder.Services.AddSingleton<ChatTotalsQuery>();
        builder.Services.AddScoped<IBotCommand, StartCommand>();
        builder.Services.AddScoped<IBotCommand, HelpCommand>();
        builder.Services.AddScoped<IBotCommand, StatsCommand>();
        builder.Services.AddScoped<CommandRouter>();
        builder.Services.AddScoped<MembershipHandler>();
        builder.Services.AddScoped<IUpdateHandler, UpdateRouter>();
        return builder;
    }
}
