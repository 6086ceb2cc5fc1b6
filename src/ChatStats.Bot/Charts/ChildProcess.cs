using System.Diagnostics;

namespace ChatStats.Bot.Charts;

/// <summary>What a helper program (weasyprint) gave back.</summary>
internal sealed record ChildResult(int ExitCode, byte[] Output, string Error);

/// <summary>
/// Runs a helper program with its input on stdin and its output from stdout, killed (with its children) when it
/// outlives <c>timeout</c>: a hung converter must not hold a worker slot forever.
/// </summary>
internal static class ChildProcess
{
    /// <exception cref="TimeoutException">The program ran longer than <paramref name="timeout"/> and was killed.</exception>
    public static async Task<ChildResult> RunAsync(string binary, IEnumerable<string> args, byte[] input, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = new Process { StartInfo = start };
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        process.Start();
        try
        {
            var output = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(output, limit.Token);
            var error = process.StandardError.ReadToEndAsync(limit.Token);
            await process.StandardInput.BaseStream.WriteAsync(input, limit.Token);
            process.StandardInput.Close();
            await copy;
            await process.WaitForExitAsync(limit.Token);
            return new ChildResult(process.ExitCode, output.ToArray(), (await error).Trim());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Kill(process);
            throw new TimeoutException($"{Path.GetFileName(binary)} ran longer than {timeout.TotalSeconds:0} s and was killed");
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
