using System.Diagnostics.Metrics;
using System.Globalization;

namespace ChatStats.Bot.Throttling;

/// <summary>
/// The CPU and memory this process really runs under: its cgroup's quota and memory limit (v2 or v1, the tightest
/// along the path to the root, as the kernel applies them), the .NET heap's hard limit, and the memory and cores the
/// runtime believes it has. <c>chatstats doctor</c> prints them; /metrics has the memory limit for the alerts.
/// </summary>
internal sealed record ProcessLimits(double? CpuQuota, long? CgroupMemoryMax, long? HeapHardLimit, long RuntimeMemory, int RuntimeCores, string Cgroup)
{
    private const string Root = "/sys/fs/cgroup";

    /// <summary>The memory the process may use before it is killed or collects all the time: the cgroup's, else the heap's, else the machine's.</summary>
    public long MemoryLimit => CgroupMemoryMax ?? HeapHardLimit ?? RuntimeMemory;

    public static ProcessLimits Read()
    {
        var info = GC.GetGCMemoryInfo();
        var heapLimit = AppContext.GetData("GCHeapHardLimit") is { } configured && Convert.ToInt64(configured, CultureInfo.InvariantCulture) is > 0 and var limit
            ? limit
            : (long?)null;
        var (cgroup, cpu, memory) = ReadCgroup();
        return new ProcessLimits(cpu, memory, heapLimit, info.TotalAvailableMemoryBytes, Environment.ProcessorCount, cgroup);
    }

    /// <summary>One line each for doctor: what is enforced, and by what.</summary>
    public IEnumerable<(bool Ok, string Name, string Detail)> Describe()
    {
        yield return (CpuQuota is not null, "cpu limit", CpuQuota is { } cores
            ? $"{cores:0.##} cores (cgroup {Cgroup}); the runtime sizes its pools for {RuntimeCores}"
            : $"none: the process may use all {Environment.ProcessorCount} cores (deploy/chatstats-run sets a quota)");
        yield return (CgroupMemoryMax is not null || HeapHardLimit is not null, "memory limit", CgroupMemoryMax is { } max
            ? $"{Mb(max)} (cgroup {Cgroup}){(HeapHardLimit is { } heap ? $", .NET heap {Mb(heap)}" : "")}; the runtime plans for {Mb(RuntimeMemory)}"
            : HeapHardLimit is { } onlyHeap
                ? $"none from the kernel; the .NET heap is capped at {Mb(onlyHeap)} (DOTNET_GCHeapHardLimit)"
                : $"none: the process may use all {Mb(RuntimeMemory)} (deploy/chatstats-run sets one)");
    }

    /// <summary>The gauges behind the memory alerts and /admin.</summary>
    public static void Publish(Meter meter, ProcessLimits limits)
    {
        meter.CreateObservableGauge("chatstats.process.memory_limit", () => limits.MemoryLimit, "By",
            "Memory the process may use: its cgroup's limit, else DOTNET_GCHeapHardLimit, else the machine's.");
        meter.CreateObservableGauge("chatstats.process.cpu_limit", () => limits.CpuQuota ?? Environment.ProcessorCount, "{core}",
            "Cores the process may use: its cgroup's CPU quota, else the machine's cores.");
    }

    private static string Mb(long bytes) => $"{bytes / 1048576.0:N0} MB";

    private static (string Path, double? Cpu, long? Memory) ReadCgroup()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/self/cgroup");
            // cgroup v2: "0::/path"; v1: "4:memory:/path", "1:cpu,cpuacct:/path".
            var unified = lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..];
            var v1 = lines.Select(l => l.Split(':', 3)).Where(p => p.Length == 3 && p[1].Length > 0)
                .SelectMany(p => p[1].Split(',').Select(c => (Controller: c, Path: p[2])))
                .ToDictionary(p => p.Controller, p => p.Path);
            if (unified is not null && File.Exists(Path.Combine(Root, "cgroup.controllers")))
            {
                var cpu = Tightest(Root, unified, "cpu.max", ParseCpuMax);
                var memory = Tightest(Root, unified, "memory.max", ParseBytes);
                return (unified, cpu, memory);
            }
            v1.TryGetValue("memory", out var memoryPath);
            v1.TryGetValue("cpu", out var cpuPath);
            var v1Cpu = cpuPath is null ? null : Tightest<double>(Path.Combine(Root, "cpu"), cpuPath, "cpu.cfs_quota_us", (dir, text) =>
                long.TryParse(text, CultureInfo.InvariantCulture, out var quota) && quota > 0
                && long.TryParse(File.ReadAllText(Path.Combine(dir, "cpu.cfs_period_us")).Trim(), CultureInfo.InvariantCulture, out var period) && period > 0
                    ? quota / (double)period : (double?)null);
            var v1Memory = memoryPath is null ? null : Tightest(Path.Combine(Root, "memory"), memoryPath, "memory.limit_in_bytes", ParseBytes);
            return (memoryPath ?? cpuPath ?? unified ?? "/", v1Cpu, v1Memory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ("unknown", null, null);
        }
    }

    /// <summary>The smallest limit from the process's cgroup up to the root: a parent's limit binds its children.</summary>
    private static T? Tightest<T>(string root, string path, string file, Func<string, string, T?> parse)
        where T : struct, IComparable<T>
    {
        // Inside a container /proc/self/cgroup names the host's hierarchy (/process_api/abc/chatstats/bot) while the
        // mount shows the container's part of it: the longest tail of the path that exists under the mount is ours.
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var skip = Enumerable.Range(0, parts.Length + 1).First(i => i == parts.Length || Directory.Exists(Path.Combine([root, .. parts[i..]])));
        T? tightest = null;
        for (var end = parts.Length; end >= skip; end--)
        {
            var dir = Path.Combine([root, .. parts[skip..end]]);
            var at = Path.Combine(dir, file);
            if (File.Exists(at) && parse(dir, File.ReadAllText(at).Trim()) is { } value && (tightest is null || value.CompareTo(tightest.Value) < 0))
            {
                tightest = value;
            }
        }
        return tightest;
    }

    /// <summary>cpu.max: "50000 100000" is half a core; "max 100000" none.</summary>
    private static double? ParseCpuMax(string dir, string text) =>
        text.Split(' ') is [var quota, var period] && long.TryParse(quota, CultureInfo.InvariantCulture, out var q) && long.TryParse(period, CultureInfo.InvariantCulture, out var p) && p > 0
            ? q / (double)p
            : null;

    /// <summary>"max", or v1's "no limit" (a number near 2^63), is none.</summary>
    private static long? ParseBytes(string dir, string text) =>
        long.TryParse(text, CultureInfo.InvariantCulture, out var bytes) && bytes is > 0 and < (1L << 62) ? bytes : null;
}
