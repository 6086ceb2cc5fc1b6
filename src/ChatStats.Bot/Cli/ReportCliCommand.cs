using System.CommandLine;
using ChatStats.Bot.Reports;

namespace ChatStats.Bot.Cli;

/// <summary><c>chatstats report --chat ID --period P --out report.pdf|report.html</c>: the /report document, offline.</summary>
internal static class ReportCliCommand
{
    public static Command Build()
    {
        var chat = new Option<long>("--chat") { Description = "The chat id (negative for groups), as Telegram gives it.", Required = true };
        var period = new Option<string>("--period") { Description = "A period as the chat commands take it (default 30d).", DefaultValueFactory = _ => "30d" };
        var output = new Option<string>("--out") { Description = "report.pdf (needs weasyprint) or report.html.", Required = true };
        var command = new Command("report", "Write a chat's report for a period to PDF or HTML, as /report sends it.") { chat, period, output };
        command.SetAction(async (parse, ct) => await ChatStatsCli.RunGuardedAsync(async () =>
        {
            var path = parse.GetValue(output)!;
            if (await ChatStatsCli.OutputFormatAsync(path, ".pdf", ".html") is not { } format)
            {
                return 2;
            }
            var pdf = format == ".pdf";
            using var host = AppHost.BuildTool([]);
            string? html;
            try
            {
                html = await host.Services.GetRequiredService<ReportBuilder>().BuildAsync(parse.GetValue(chat), parse.GetValue(period)!, DateTimeOffset.UtcNow, ct);
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync($"chatstats: {ex.Message}. Periods: {Stats.Period.Forms}.");
                return 2;
            }
            if (html is null)
            {
                await ChatStatsCli.NoSuchChatAsync(parse.GetValue(chat));
                return 1;
            }
            if (pdf)
            {
                try
                {
                    await File.WriteAllBytesAsync(path, await host.Services.GetRequiredService<PdfRenderer>().RenderAsync(html, ct), ct);
                }
                catch (PdfException ex)
                {
                    await Console.Error.WriteLineAsync($"chatstats: {ex.Message}");
                    return 1;
                }
            }
            else
            {
                await File.WriteAllTextAsync(path, html, ct);
            }
            Console.WriteLine($"wrote {path}");
            return 0;
        }));
        return command;
    }
}
