namespace ChatStats.Bot.Configuration;

/// <summary>
/// Where an external program (weasyprint, fc-list) is when its setting does not say: the first match on PATH, as a shell
/// would find it. Used by the code that runs the program and by <c>chatstats doctor</c>, which reports it.
/// </summary>
internal static class ProgramPath
{
    public static string? Find(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
