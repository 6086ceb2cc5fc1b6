using ChatStats.Testing;

namespace ChatStats.Bot.Tests.Ingest;

/// <summary>What a correct ingest must have made of generated traffic: every row once, rollups equal to a recount.</summary>
internal static class RecordedTraffic
{
    public static async Task AssertRecordedExactlyAsync(this PostgresDatabase db, Traffic traffic)
    {
        Assert.Equal(traffic.MessageRows, await db.ScalarAsync<long>("SELECT count(*) FROM messages"));
        Assert.Equal(traffic.CountedMessages, await db.ScalarAsync<long>("SELECT coalesce(sum(messages), 0) FROM chat_user_hourly"));
        Assert.Equal(traffic.CountedMessages, await db.ScalarAsync<long>("SELECT count(*) FROM messages WHERE counted"));
        Assert.Equal(traffic.CountedWords, await db.ScalarAsync<long>("SELECT coalesce(sum(words), 0) FROM chat_user_hourly"));
        Assert.Equal(traffic.ServiceEvents, await db.ScalarAsync<long>("SELECT count(DISTINCT (chat_id, message_id)) FROM service_events"));
        Assert.Equal(traffic.GroupChats.Count, await db.ScalarAsync<long>("SELECT count(*) FROM chats WHERE type IN ('group', 'supergroup')"));
        Assert.Equal(0, await db.ScalarAsync<long>("""
            SELECT count(*) FROM (SELECT chat_id, date_trunc('hour', sent_at, 'UTC') h, sender_user_id u, count(*) c, sum(word_count) w
                                  FROM messages WHERE counted GROUP BY 1, 2, 3) r
            FULL JOIN chat_user_hourly x ON x.chat_id = r.chat_id AND x.hour = r.h AND x.user_id = r.u
            WHERE r.c IS DISTINCT FROM x.messages::bigint OR r.w IS DISTINCT FROM x.words
            """));
    }
}
