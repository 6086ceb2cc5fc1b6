using ChatStats.Bot.Configuration;

namespace ChatStats.Bot.Throttling;

internal static class ThrottlingExtensions
{
    /// <summary>The limits in front of every handler, the work gates, and the admin lookup admin-only commands need.</summary>
    public static IHostApplicationBuilder AddThrottling(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        builder.Services.AddSingleton<CommandLimiters>();
        builder.Services.AddSingleton<ChatAdmins>();
        builder.Services.AddSingleton<CommandGuard>();
        return builder;
    }
}
