using System.Globalization;

namespace ChatStats.Bot.Tests.Jobs;

/// <summary>
/// A weasyprint stand-in (Reports:Weasyprint) as a shell script: reads the HTML from stdin, writes a small PDF to
/// stdout, and keeps a log of its runs (start, the pid of its sleep, end) for the tests to read. Files next to it tell
/// it how to behave: sleep on its next run only, sleep every run, ignore SIGTERM, or fail.
/// </summary>
internal sealed class FakeWeasyprint : IDisposable
{
    private const string Script = """
        #!/bin/bash
        dir="$(dirname "$0")"
        [ -f "$dir/ignore-term" ] && trap '' TERM
        cat > /dev/null
        echo "start $$ $(date +%s.%N)" >> "$dir/runs"
        seconds=""
        if mv "$dir/sleep-once" "$dir/sleep-once.$$" 2>/dev/null; then seconds="$(cat "$dir/sleep-once.$$")"; rm -f "$dir/sleep-once.$$"
        elif [ -f "$dir/sleep" ]; then seconds="$(cat "$dir/sleep")"; fi
        if [ -n "$seconds" ]; then
          sleep "$seconds" &
          echo "child $! $(date +%s.%N)" >> "$dir/runs"
          wait $!
        fi
        if [ -f "$dir/fail" ]; then cat "$dir/fail" >&2; echo "end $$ $(date +%s.%N)" >> "$dir/runs"; exit 1; fi
        printf '%%PDF-1.4\n%% fake weasyprint\n%%%%EOF\n'
        echo "end $$ $(date +%s.%N)" >> "$dir/runs"
        """;

    public FakeWeasyprint()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fake-weasyprint-").FullName;
        Path = System.IO.Path.Combine(Directory, "weasyprint");
        File.WriteAllText(Path, Script.Replace("\r\n", "\n", StringComparison.Ordinal));
        // Tests run where chatstats runs: Linux.
#pragma warning disable CA1416
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
#pragma warning restore CA1416
    }

    public string Directory { get; }

    public string Path { get; }

    public void SleepOnce(double seconds) => Write("sleep-once", seconds.ToString(CultureInfo.InvariantCulture));

    public void SleepEveryRun(double seconds) => Write("sleep", seconds.ToString(CultureInfo.InvariantCulture));

    public void IgnoreSigterm() => Write("ignore-term", "");

    public void Fail(string stderr) => Write("fail", stderr);

    /// <summary>Every line of the run log: (what, pid, unix time).</summary>
    public IReadOnlyList<(string Kind, int Pid, double At)> Runs()
    {
        var log = System.IO.Path.Combine(Directory, "runs");
        if (!File.Exists(log))
        {
            return [];
        }
        return File.ReadAllLines(log).Select(l => l.Split(' ')).Where(p => p.Length == 3)
            .Select(p => (p[0], int.Parse(p[1], CultureInfo.InvariantCulture), double.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
    }

    public int Starts => Runs().Count(r => r.Kind == "start");

    public int Ends => Runs().Count(r => r.Kind == "end");

    /// <summary>The script processes and their sleeps still alive.</summary>
    public IReadOnlyList<int> Alive() => Runs().Where(r => r.Kind is "start" or "child").Select(r => r.Pid)
        .Where(pid => System.IO.Directory.Exists($"/proc/{pid}") && !IsZombie(pid)).ToList();

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    private void Write(string name, string content) => File.WriteAllText(System.IO.Path.Combine(Directory, name), content);

    public void Dispose()
    {
        foreach (var pid in Alive())
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
