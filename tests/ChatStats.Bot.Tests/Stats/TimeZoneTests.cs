using System.Text.Json;
using ChatStats.Bot.Ingest;
using ChatStats.Bot.Stats;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Stats;

/// <summary>
/// Rollups are per UTC hour; a chat's local days and hours are computed from them. Exact for whole-hour zones, DST
/// included; in half-hour zones an hour bucket counts for the local day and hour it starts in.
/// </summary>
public sealed class TimeZoneTests : IAsyncLifetime
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeZoneInfo Kolkata = TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata");
    private readonly PostgresDatabase _db = new();
    private int _messageId;

    public Task InitializeAsync() => _db.InitializeAsync();

    public Task DisposeAsync() => _db.DisposeAsync();

    private async Task WriteAsync(FakeChat chat, params DateTimeOffset[] times)
    {
        var batch = new IngestBatch();
        var ann = new FakeUser(1, "Ann");
        foreach (var t in times)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(chat, ++_messageId, ann, t.ToUnixTimeSeconds(), "hi"))!.AsObject();
            node["update_id"] = _messageId;
            UpdateMapper.Map(UpdateFactory.Read(node), batch, true);
        }
        await new IngestWriter(_db.DataSource).WriteAsync(batch, CancellationToken.None);
    }

    private static Period P(string text, TimeZoneInfo zone, DateTimeOffset now) => Period.TryParse(text, zone, now, out var error) ?? throw new InvalidOperationException(error);

    private static DateTimeOffset Utc(int month, int day, int hour, int minute) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public async Task ADstWeekInBerlinCountsEachMessageOnItsLocalDayAndHour()
    {
        var chat = new FakeChat(-100_900, "Berlin");
        await WriteAsync(chat,
            Utc(3, 28, 22, 30),  // Sat 23:30 CET
            Utc(3, 28, 23, 30),  // Sun 00:30 CET
            Utc(3, 29, 21, 30),  // Sun 23:30 CEST (the clocks went forward at 02:00)
            Utc(3, 29, 22, 30)); // Mon 00:30 CEST
        var queries = new StatsQueries(_db.DataSource);
        var now = Utc(4, 2, 12, 0);

        var week = P("2026-03-28..2026-03-30", Berlin, now);
        var history = await queries.HistoryAsync(chat.Id, week, CancellationToken.None);
        var grid = await queries.HeatmapAsync(chat.Id, week, CancellationToken.None);
        var sunday = P("2026-03-29", Berlin, now);

        Assert.Equal([new DayCount(new(2026, 3, 28), 1), new DayCount(new(2026, 3, 29), 2), new DayCount(new(2026, 3, 30), 1)], history);
        Assert.Equal((1, 1, 1, 1), (grid[5, 23], grid[6, 0], grid[6, 23], grid[0, 0]));
        Assert.Equal(4, grid.Cast<long>().Sum());
        // The day of the change has 23 hours.
        Assert.Equal((Utc(3, 28, 23, 0), Utc(3, 29, 22, 0)), (sunday.From, sunday.To));
        Assert.Equal(2, (await queries.OverviewAsync(chat.Id, sunday, CancellationToken.None)).Messages);
    }

    [Fact]
    public async Task InAHalfHourZoneAnHourBucketCountsForTheLocalDayItStartsIn()
    {
        var chat = new FakeChat(-100_901, "Kolkata");
        // 23:40 on 10 March and 00:10 on 11 March in Kolkata (+05:30): both in the 18:00 UTC bucket, which starts at 23:30 local.
        await WriteAsync(chat, Utc(3, 10, 18, 10), Utc(3, 10, 18, 40), Utc(3, 11, 6, 0));
        var queries = new StatsQueries(_db.DataSource);
        var now = Utc(3, 20, 0, 0);

        var history = await queries.HistoryAsync(chat.Id, P("2026-03-10..2026-03-11", Kolkata, now), CancellationToken.None);
        var grid = await queries.HeatmapAsync(chat.Id, P("2026-03", Kolkata, now), CancellationToken.None);

        Assert.Equal([new DayCount(new(2026, 3, 10), 2), new DayCount(new(2026, 3, 11), 1)], history);
        Assert.Equal(2, grid[1, 23]); // Tuesday 23:00 row (the 23:30 bucket)
        Assert.Equal(1, grid[2, 11]); // Wednesday 11:30 local: the 06:00 UTC bucket
    }

    [Theory]
    [InlineData("today", "2026-03-31T00:00:00+00:00", "2026-03-31T13:00:00+00:00")]
    [InlineData("yesterday", "2026-03-30T00:00:00+00:00", "2026-03-31T00:00:00+00:00")]
    [InlineData("7d", "2026-03-25T00:00:00+00:00", "2026-03-31T13:00:00+00:00")]
    [InlineData("week", "2026-03-30T00:00:00+00:00", "2026-03-31T13:00:00+00:00")]
    [InlineData("month", "2026-03-01T00:00:00+00:00", "2026-03-31T13:00:00+00:00")]
    [InlineData("year", "2026-01-01T00:00:00+00:00", "2026-03-31T13:00:00+00:00")]
    [InlineData("2026-02", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")]
    [InlineData("2026-02-10", "2026-02-10T00:00:00+00:00", "2026-02-11T00:00:00+00:00")]
    [InlineData("2026-02-10..2026-02-12", "2026-02-10T00:00:00+00:00", "2026-02-13T00:00:00+00:00")]
    public void PeriodsAreLocalCalendarSpans(string text, string from, string to)
    {
        var period = P(text, TimeZoneInfo.Utc, new DateTimeOffset(2026, 3, 31, 12, 15, 0, TimeSpan.Zero));
        Assert.Equal((DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture)), (period.From!.Value, period.To));
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("2026-02-30")]
    [InlineData("99999d")]
    [InlineData("tomorrow")]
    public void NotAPeriod(string text) => Assert.Null(Period.TryParse(text, TimeZoneInfo.Utc, DateTimeOffset.UtcNow, out _));

    [Fact]
    public void StreaksCountConsecutiveDays() =>
        Assert.Equal((3, new DateOnly(2026, 1, 7)), StatsQueries.LongestStreak([new(2026, 1, 1), new(2026, 1, 2), new(2026, 1, 5), new(2026, 1, 6), new(2026, 1, 7), new(2026, 1, 9)]));
}

/// <summary>The retention purge deletes messages and rollup hours before one hour-aligned cut-off, keeping the invariant.</summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private readonly PostgresDatabase _db = new();

    public Task InitializeAsync() => _db.InitializeAsync();

    public Task DisposeAsync() => _db.DisposeAsync();

    [Fact]
    public async Task ThePurgeKeepsRollupsEqualToARecount()
    {
        var now = new DateTimeOffset(2026, 6, 1, 12, 30, 0, TimeSpan.Zero);
        var kept = new FakeChat(-100_960, "Keeps 30 days");
        var forever = new FakeChat(-100_961, "Keeps everything");
        var batch = new IngestBatch();
        var id = 0;
        foreach (var chat in new[] { kept, forever })
        {
            for (var day = 0; day < 60; day++)
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(UpdateFactory.Message(chat, ++id, new FakeUser(1 + day % 3, "Ann"), (now - TimeSpan.FromDays(day) - TimeSpan.FromMinutes(day)).ToUnixTimeSeconds(), $"pizza night {day}"))!.AsObject();
                node["update_id"] = id;
                UpdateMapper.Map(UpdateFactory.Read(node), batch, true);
            }
        }
        await new IngestWriter(_db.DataSource).WriteAsync(batch, CancellationToken.None);
        await _db.ExecuteAsync("UPDATE chats SET retention_days = 30 WHERE id = $1", kept.Id);

        var time = new ManualTimeProvider(now);
        var deleted = await new Privacy(_db.DataSource, time).PurgeExpiredAsync(CancellationToken.None);

        Assert.Equal(29, deleted); // days 31–59; day 30's message (12:00 on 2 May) is within the hour-aligned cut-off
        Assert.Equal(31, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", kept.Id));
        Assert.Equal(60, await _db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE chat_id = $1", forever.Id));
        await RollupInvariant.AssertMatchesMessagesAsync(_db);
    }
}
