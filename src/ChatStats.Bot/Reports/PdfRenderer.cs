using System.Diagnostics;
using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Throttling;

namespace ChatStats.Bot.Reports;

/// <summary>weasyprint is missing, failed, or took too long: the message says which, with its stderr.</summary>
/// <param name="Missing">No weasyprint to run: trying again cannot help until an operator installs it.</param>
internal sealed class PdfException(string message, bool missing = false) : Exception(message)
{
    public bool Missing { get; } = missing;
}

/// <summary>
/// HTML to PDF with <c>weasyprint</c> (Debian: weasyprint) as a child process, behind the PDF gate (at most
/// Limits:PdfConcurrency at once). The process is killed, whole tree, when it outlives <see cref="Timeout"/>.
/// </summary>
internal sealed class PdfRenderer(CommandLimiters limiters, IConfiguration configuration, ILogger<PdfRenderer> logger)
{
    public TimeSpan Timeout { get; } = TimeSpan.FromSeconds(configuration.GetValue("Reports:PdfTimeoutSeconds", 120));

    private string? Binary => configuration["Reports:Weasyprint"] is { Length: > 0 } path
        ? File.Exists(path) ? path : throw new PdfException($"Reports:Weasyprint is {path}, which does not exist; fix the setting or remove it to use weasyprint from PATH.", missing: true)
        : Configuration.ProgramPath.Find("weasyprint");

    public async Task<byte[]> RenderAsync(string html, CancellationToken ct)
    {
        var binary = Binary ?? throw new PdfException("weasyprint is not installed: apt-get install weasyprint (chatstats doctor checks it).", missing: true);
        using var lease = await limiters.Pdf.EnterAsync(ct);
        var started = Stopwatch.GetTimestamp();
        ChildResult result;
        try
        {
            result = await ChildProcess.RunAsync(binary, ["--quiet", "-", "-"], Encoding.UTF8.GetBytes(html), Timeout, ct);
        }
        catch (TimeoutException ex)
        {
            throw new PdfException($"{ex.Message} (Reports:PdfTimeoutSeconds).");
        }
        if (result.ExitCode != 0 || result.Output.Length == 0)
        {
            throw new PdfException($"weasyprint exited with {result.ExitCode}: {result.Error}");
        }
        logger.LogDebug("PDF of {Bytes} bytes in {Elapsed}", result.Output.Length, Stopwatch.GetElapsedTime(started));
        return result.Output;
    }
}
