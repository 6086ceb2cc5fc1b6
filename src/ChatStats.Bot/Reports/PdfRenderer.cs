using System.Diagnostics;
using System.Text;
using ChatStats.Bot.Throttling;

namespace ChatStats.Bot.Reports;

/// <summary>weasyprint is missing, failed, or took too long: the message says which, with its stderr.</summary>
internal sealed class PdfException(string message) : Exception(message);

/// <summary>
/// HTML to PDF with <c>weasyprint</c> (Debian: weasyprint) as a child process, behind the PDF gate (at most
/// Limits:PdfConcurrency at once). The process is killed, whole tree, when it outlives <see cref="Timeout"/>.
/// </summary>
internal sealed class PdfRenderer(CommandLimiters limiters, IConfiguration configuration, ILogger<PdfRenderer> logger)
{
    public TimeSpan Timeout { get; } = TimeSpan.FromSeconds(configuration.GetValue("Reports:PdfTimeoutSeconds", 120));

    private string? Binary => configuration["Reports:Weasyprint"] is { Length: > 0 } path ? path : Cli.DoctorCommand.FindOnPath("weasyprint");

    public async Task<byte[]> RenderAsync(string html, CancellationToken ct)
    {
        var binary = Binary ?? throw new PdfException("weasyprint is not installed: apt-get install weasyprint (chatstats doctor checks it).");
        using var lease = await limiters.Pdf.EnterAsync(ct);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--quiet");
        start.ArgumentList.Add("-");
        start.ArgumentList.Add("-");
        using var process = new Process { StartInfo = start };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        var started = Stopwatch.GetTimestamp();
        process.Start();
        try
        {
            var output = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(output, timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(html), timeout.Token);
            process.StandardInput.Close();
            await copy;
            await process.WaitForExitAsync(timeout.Token);
            var stderr = (await error).Trim();
            if (process.ExitCode != 0 || output.Length == 0)
            {
                throw new PdfException($"weasyprint exited with {process.ExitCode}: {stderr}");
            }
            logger.LogDebug("PDF of {Bytes} bytes in {Elapsed}", output.Length, Stopwatch.GetElapsedTime(started));
            return output.ToArray();
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Kill(process);
            throw new PdfException($"weasyprint took longer than {Timeout.TotalSeconds:0} s and was killed (Reports:PdfTimeoutSeconds).");
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
