using ChatStats.Bot.Data;
using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Database;

/// <summary>chats.settings read once into a typed record, and written one key at a time.</summary>
public sealed class ChatSettingsTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    private ChatSettingsWriter Writer => new(db.DataSource);

    private async Task<long> NewChatAsync(string settings = "{}")
    {
        var id = -Random.Shared.NextInt64(1_000_000, 1_000_000_000);
        await db.ExecuteAsync("INSERT INTO chats (id, type, is_forum, settings, first_seen_at, updated_at) VALUES ($1, 'supergroup', false, $2::jsonb, now(), now())", id, settings);
        return id;
    }

    private async Task<ChatSettings> ReadAsync(long chatId) =>
        ChatSettings.Parse(await db.ScalarAsync<string>("SELECT settings::text FROM chats WHERE id = $1", chatId));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("{\"commands\": \"stats\"}")]
    [InlineData("{\"commands\": {\"stats\": \"sometimes\", \"top\": 3}, \"digest\": \"25:99\"}")]
    public void WhatCannotBeUnderstoodReadsAsTheDefault(string? json)
    {
        var settings = ChatSettings.Parse(json);

        Assert.Empty(settings.Commands);
        Assert.Null(settings.Digest);
        Assert.Equal(CommandPolicy.Enabled, settings.PolicyOf("stats"));
    }

    [Fact]
    public void RulesAndTheDigestAreReadWhateverTheirCase()
    {
        var settings = ChatSettings.Parse("{\"commands\": {\"Stats\": \"ADMIN\", \"top\": \"disabled\"}, \"digest\": \"9:05\", \"later\": true}");

        Assert.Equal(CommandPolicy.Admin, settings.PolicyOf("stats"));
        Assert.Equal(CommandPolicy.Disabled, settings.PolicyOf("TOP"));
        Assert.Equal(CommandPolicy.Enabled, settings.PolicyOf("me"));
        Assert.Equal("09:05", settings.DigestText);
    }

    [Fact]
    public async Task EachWriterChangesItsKeyAndKeepsTheOthers()
    {
        var chat = await NewChatAsync("{\"later\": {\"kept\": true}}");

        await Writer.SetCommandPolicyAsync(chat, "Stats", CommandPolicy.Admin, CancellationToken.None);
        await Writer.SetCommandPolicyAsync(chat, "top", CommandPolicy.Disabled, CancellationToken.None);
        await Writer.SetDigestAsync(chat, new TimeOnly(8, 30), CancellationToken.None);
        await Writer.SetCommandPolicyAsync(chat, "top", CommandPolicy.Enabled, CancellationToken.None);

        var settings = await ReadAsync(chat);
        Assert.Equal(CommandPolicy.Admin, settings.PolicyOf("stats"));
        Assert.Equal(CommandPolicy.Enabled, settings.PolicyOf("top"));
        Assert.Equal("08:30", settings.DigestText);
        // Enabled is the default and not stored; a key ChatStats does not know survives.
        Assert.Equal("{\"later\": {\"kept\": true}, \"digest\": \"08:30\", \"commands\": {\"stats\": \"admin\"}}",
            await db.ScalarAsync<string>("SELECT settings::text FROM chats WHERE id = $1", chat));

        await Writer.SetDigestAsync(chat, null, CancellationToken.None);
        Assert.Null((await ReadAsync(chat)).Digest);
    }

    [Fact]
    public async Task ASettingsValueThatIsNotAnObjectIsReplacedByTheFirstChange()
    {
        var chat = await NewChatAsync("[\"hand\", \"edited\"]");

        await Writer.SetCommandPolicyAsync(chat, "stats", CommandPolicy.Disabled, CancellationToken.None);

        Assert.Equal(CommandPolicy.Disabled, (await ReadAsync(chat)).PolicyOf("stats"));
    }

    [Fact]
    public async Task TwoAdminsChangingTwoKeysAtOnceBothKeepTheirChange()
    {
        var chat = await NewChatAsync();

        // Fifty rounds of two concurrent writers: a read-modify-write of the whole document loses one of them now and then.
        for (var round = 0; round < 50; round++)
        {
            var policy = round % 2 == 0 ? CommandPolicy.Admin : CommandPolicy.Disabled;
            var digest = new TimeOnly(round % 24, 0);
            await Task.WhenAll(
                Task.Run(() => Writer.SetCommandPolicyAsync(chat, "stats", policy, CancellationToken.None)),
                Task.Run(() => Writer.SetDigestAsync(chat, digest, CancellationToken.None)));

            var settings = await ReadAsync(chat);
            Assert.Equal((policy, digest), (settings.PolicyOf("stats"), settings.Digest));
        }
    }
}
