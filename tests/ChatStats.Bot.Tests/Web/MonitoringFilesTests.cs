using System.Text.Json;
using System.Text.RegularExpressions;
using ChatStats.Bot.Web;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Web;

/// <summary>
/// deploy/prometheus and deploy/grafana as an operator installs them: Debian's promtool checks the rules and the scrape
/// config and runs the rules' unit tests; every metric an alert or a dashboard panel names is one ChatStats publishes.
/// </summary>
public sealed partial class MonitoringFilesTests : IAsyncLifetime
{
    private static readonly string Deploy = Path.Combine(Tools.RepositoryRoot, "deploy");
    private readonly PostgresDatabase _db = new();
    private FakeBotApi _api = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _api = await FakeBotApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static Task<ToolResult> PromtoolAsync(params string[] args) =>
        Tools.RunAsync(Tools.Find("prometheus", "promtool"), args, workingDirectory: Path.Combine(Deploy, "prometheus"));

    [Fact]
    public async Task PromtoolAcceptsTheRulesAndTheScrapeConfigAndEveryRuleTestPasses()
    {
        var rules = await PromtoolAsync("check", "rules", "alerts.yml");
        var config = await PromtoolAsync("check", "config", "prometheus.yml");
        var tests = await PromtoolAsync("test", "rules", "alerts.test.yml");

        Assert.True(rules.ExitCode == 0, rules.ToString());
        Assert.True(config.ExitCode == 0, config.ToString());
        Assert.True(tests.ExitCode == 0, tests.ToString());
        Assert.Contains("SUCCESS", tests.Output + tests.Error);
    }

    [Fact]
    public void EveryAlertHasAUnitTestThatFiresItAndOneThatKeepsItQuiet()
    {
        var alerts = AlertNames().ToHashSet();
        var text = File.ReadAllText(Path.Combine(Deploy, "prometheus", "alerts.test.yml"));
        var tested = AlertName().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.True(alerts.Count >= 25, $"only {alerts.Count} alerts");
        Assert.Empty(alerts.Except(tested));
        // Each test runs its alert against a 'good' instance too: the expected alerts name only 'bad' ones.
        Assert.DoesNotContain("instance: good", text);
    }

    [Fact]
    public async Task EveryMetricAnAlertOrAPanelNamesIsOneThisProcessPublishes()
    {
        await using var run = await BotHarness.StartAsync(_api, _db.ConnectionString, web: true, worker: true);
        var ids = _api.AddUpdates(Traffic.Generate(30, seed: 21).Updates);
        await _api.WaitUntilConfirmedAsync(ids[^1] - 1, BotHarness.Patience);
        using var http = new HttpClient();
        // Instruments in static fields exist from their class's first use: every one is made now.
        foreach (var type in new[] { typeof(MeterPublisher), typeof(ChatStats.Telegram.TelegramMetrics), typeof(ChatStats.Throttling.ThrottlingMetrics) }
            .SelectMany(t => t.Assembly.GetTypes()).Where(t => !t.ContainsGenericParameters))
        {
            if (type.GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
                .Any(f => typeof(System.Diagnostics.Metrics.Instrument).IsAssignableFrom(f.FieldType)))
            {
                System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(type.TypeHandle);
            }
        }
        var scraped = MetricLine().Matches(await http.GetStringAsync($"{run.WebUrl}/metrics")).Select(m => m.Groups[1].Value);
        // A counter of failures is on /metrics from the first failure on; its instrument is known from the start.
        var published = scraped.Concat(run.Get<MeterPublisher>().SeriesNames).Append("up").ToHashSet(StringComparer.Ordinal);

        var alertMetrics = Expressions(File.ReadAllText(Path.Combine(Deploy, "prometheus", "alerts.yml")), "expr: ").SelectMany(MetricsIn).ToHashSet();
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "chatstats.json")));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        var panelMetrics = panels.SelectMany(p => p.GetProperty("targets").EnumerateArray()).SelectMany(t => MetricsIn(t.GetProperty("expr").GetString()!)).ToHashSet();

        Assert.True(panels.Count >= 20, $"only {panels.Count} panels");
        Assert.All(panels, p => Assert.NotEqual(0, p.GetProperty("targets").GetArrayLength()));
        Assert.Contains("chatstats_reply_latency_seconds_bucket", alertMetrics);
        Assert.Contains("process_working_set_bytes", panelMetrics);
        Assert.DoesNotContain("histogram_quantile", alertMetrics);
        Assert.Empty(alertMetrics.Except(published));
        Assert.Empty(panelMetrics.Except(published));
        // Import-ready: the data source is asked for on import, not a uid of someone's Grafana.
        Assert.Equal("DS_PROMETHEUS", dashboard.RootElement.GetProperty("__inputs")[0].GetProperty("name").GetString());
    }

    private static IEnumerable<string> AlertNames() =>
        File.ReadAllLines(Path.Combine(Deploy, "prometheus", "alerts.yml")).Select(l => l.Trim()).Where(l => l.StartsWith("- alert: ", StringComparison.Ordinal)).Select(l => l[9..]);

    private static IEnumerable<string> Expressions(string yaml, string key) =>
        yaml.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(key, StringComparison.Ordinal)).Select(l => l[key.Length..]);

    /// <summary>Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or durations.</summary>
    private static IEnumerable<string> MetricsIn(string expr)
    {
        var withoutStrings = Regex.Replace(Regex.Replace(expr, "\"[^\"]*\"", "\"\""), @"\{[^}]*\}", "{}");
        withoutStrings = Regex.Replace(withoutStrings, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "");
        withoutStrings = Regex.Replace(withoutStrings, @"\[[^\]]*\]", "");
        return Identifier().Matches(withoutStrings).Select(m => m.Value)
            .Where(name => !PromQlWords.Contains(name) && !name.StartsWith("__", StringComparison.Ordinal) && !name.StartsWith('$'))
            .Where(name => !Regex.IsMatch(withoutStrings, $@"\b{Regex.Escape(name)}\s*\("));
    }

    private static readonly HashSet<string> PromQlWords = ["and", "or", "unless", "bool", "offset", "sum", "min", "max", "avg", "count", "rate", "increase",
        "deriv", "histogram_quantile", "max_over_time", "min_over_time", "label_values", "le", "e", "Inf", "NaN"];

    [GeneratedRegex(@"(?<![\w$.])[a-zA-Z_][a-zA-Z0-9_]*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^([a-zA-Z_][a-zA-Z0-9_]*)[{ ]", RegexOptions.Multiline)]
    private static partial Regex MetricLine();

    [GeneratedRegex(@"alertname: (\w+)")]
    private static partial Regex AlertName();
}
