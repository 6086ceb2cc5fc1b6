using ChatStats.Bot.Commands.Statistics;
using ChatStats.Bot.Data;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Summaries;

namespace ChatStats.Bot.Commands;

internal static class CommandsExtensions
{
    /// <summary>Every chat command, in the order /help lists them, plus what they read (<see cref="StatsExtensions.AddStatistics"/>).</summary>
    public static IHostApplicationBuilder AddCommands(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CommandGuard>();
        builder.Services.AddSingleton<Replies>();
        builder.AddStatistics();
        builder.Services.AddSingleton<Privacy>();
        builder.Services.AddSingleton<ChatSettingsWriter>();
        builder.Services.AddSingleton<StatsSupport>();
        builder.Services.AddSingleton<Telegram.ICommandMenu, CommandMenu>();
        builder.Services.AddScoped<IBotCommand, StartCommand>();
        builder.Services.AddScoped<IBotCommand, HelpCommand>();
        builder.Services.AddScoped<IBotCommand, StatsCommand>();
        builder.Services.AddScoped<IBotCommand, TopCommand>();
        builder.Services.AddScoped<IBotCommand, MeCommand>();
        builder.Services.AddScoped<IBotCommand, UserCommand>();
        builder.Services.AddScoped<IBotCommand, ActivityCommand>();
        builder.Services.AddScoped<IBotCommand, HistoryCommand>();
        builder.Services.AddScoped<IBotCommand, WordsCommand>();
        builder.Services.AddScoped<IBotCommand, TypesCommand>();
        builder.Services.AddScoped<IBotCommand, RepliesCommand>();
        builder.Services.AddScoped<IBotCommand, InactiveCommand>();
        builder.Services.AddScoped<IBotCommand, TitlesCommand>();
        builder.Services.AddScoped<IBotCommand, Reports.ReportCommand>();
        builder.Services.AddScoped<IBotCommand, Summaries.SummaryCommand>();
        builder.Services.AddScoped<IBotCommand, OptOutCommand>();
        builder.Services.AddScoped<IBotCommand, OptInCommand>();
        builder.Services.AddScoped<IBotCommand, ForgetMeCommand>();
        builder.Services.AddScoped<IBotCommand, SettingsCommand>();
        builder.Services.AddScoped<CommandRouter>();
        builder.Services.AddScoped<MembershipHandler>();
        builder.Services.AddScoped<IUpdateHandler, UpdateRouter>();
        builder.Services.AddSingleton<IQuestionKeys, QuestionKeys>();
        builder.AddSummaries();
        return builder;
    }
}
