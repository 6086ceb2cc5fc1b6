using System.CommandLine;
using System.Globalization;
using ChatStats.Bot.Import;
using ChatStats.Bot.Ingest;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatStats.Bot.Cli;

/// <summary><c>chatstats import PATH</c>: a Telegram Desktop export into the database, merged with live history.</summary>
internal static class ImportCliCommand
{
    /// <summary>The import finished, but some messages were left out: a script can tell this from success and from failure (1).</summary>
    public const int SkippedExitCode = 3;

    public static Command Build()
    {
        var path = new Argument<string>("path") { Description = "result.json of a Telegram Desktop export (one chat, or a whole account), or the folder holding it." };
        var command = new Command("import", "Import chat history from a Telegram Desktop JSON export; safe to run again, and alongside the bot.") { path };
        command.SetAction(async (parse, ct) => await ChatStatsCli.RunGuardedAsync(async () =>
        {
            using var host = AppHost.BuildTool([]);
            var importer = new ExportImporter(host.Services.GetRequiredService<NpgsqlDataSource>(), new IngestWriter(host.Services.GetRequiredService<NpgsqlDataSource>()),
                host.Services.GetRequiredService<IOptions<PrivacyOptions>>().Value.StoreText);
            var interactive = !Console.IsErrorRedirected;
            var progress = new SyncProgress(p =>
            {
                if (interactive)
                {
                    var share = p.BytesTotal > 0 ? (double)p.BytesRead / p.BytesTotal : 0;
                    var bar = new string('█', (int)(share * 30)).PadRight(30, '░');
                    Console.Error.Write($"\r{bar} {share,4:P0}  {Terminal.Safe(Shorten(p.Chat)),-30} {p.Messages,12:N0} messages");
                }
            });
            try
            {
                var summary = await importer.ImportAsync(parse.GetValue(path)!, progress, ct);
                if (interactive)
                {
                    Console.Error.WriteLine();
                }
                foreach (var chat in summary.Chats)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{chat.ChatId,16} {chat.Type,-10} {chat.Messages,12:N0} read {chat.Added,12:N0} new {chat.Events,8:N0} events  {Terminal.Safe(chat.Title)}"));
                }
                foreach (var skipped in summary.Skipped)
                {
                    Console.WriteLine($"skipped: {Terminal.Safe(skipped)}");
                }
                foreach (var chat in summary.Chats.Where(c => c.Skipped.Count > 0))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"skipped {Terminal.Count(chat.Skipped.Count, "message")} of {Terminal.Safe(chat.Title)}: {Terminal.Safe(chat.Skipped.ToString())}"));
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Imported {Terminal.Count(summary.Chats.Count, "chat")}: {Terminal.Count(summary.Messages, "message")} read, {summary.Added:N0} new, in {summary.Elapsed.TotalSeconds:0.0} s ({summary.PerSecond:N0}/s)."));
                if (summary.Chats.Count == 0)
                {
                    await Console.Error.WriteLineAsync("chatstats: nothing was imported: the file holds no group chat that could be read (see the skipped lines above).");
                    return SkippedExitCode;
                }
                if (summary.SkippedMessages > 0)
                {
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"chatstats: {Terminal.Count(summary.SkippedMessages, "message")} could not be imported (listed above); everything else was. Fix or re-export them and import again: what is in already is not duplicated."));
                    return SkippedExitCode;
                }
                return 0;
            }
            catch (ImportException ex)
            {
                if (interactive)
                {
                    Console.Error.WriteLine();
                }
                await Console.Error.WriteLineAsync($"chatstats: {ex.Message}");
                return 1;
            }
        }));
        return command;
    }

    private static string Shorten(string title) => title.Length <= 30 ? title : title[..29] + "…";

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; posts to the pool and can print after the summary).</summary>
    private sealed class SyncProgress(Action<ImportProgress> report) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => report(value);
    }
}
