using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "chat_title_history",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    message_id = table.Column<int>(type: "integer", nullable: false),
                    title = table.Column<string>(type: "text", nullable: false),
                    changed_by_user_id = table.Column<long>(type: "bigint", nullable: true),
                    changed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chat_title_history", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "chat_user_hourly",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    hour = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    user_id = table.Column<long>(type: "bigint", nullable: false),
                    messages = table.Column<int>(type: "integer", nullable: false),
                    words = table.Column<long>(type: "bigint", nullable: false),
                    chars = table.Column<long>(type: "bigint", nullable: false),
                    text_count = table.Column<int>(type: "integer", nullable: false),
                    photo_count = table.Column<int>(type: "integer", nullable: false),
                    sticker_count = table.Column<int>(type: "integer", nullable: false),
                    voice_count = table.Column<int>(type: "integer", nullable: false),
                    video_count = table.Column<int>(type: "integer", nullable: false),
                    video_note_count = table.Column<int>(type: "integer", nullable: false),
                    audio_count = table.Column<int>(type: "integer", nullable: false),
                    document_count = table.Column<int>(type: "integer", nullable: false),
                    animation_count = table.Column<int>(type: "integer", nullable: false),
                    poll_count = table.Column<int>(type: "integer", nullable: false),
                    location_count = table.Column<int>(type: "integer", nullable: false),
                    contact_count = table.Column<int>(type: "integer", nullable: false),
                    dice_count = table.Column<int>(type: "integer", nullable: false),
                    other_count = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chat_user_hourly", x => new { x.chat_id, x.hour, x.user_id });
                });

            migrationBuilder.CreateTable(
                name: "chats",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false),
                    type = table.Column<string>(type: "text", nullable: false),
                    title = table.Column<string>(type: "text", nullable: true),
                    username = table.Column<string>(type: "text", nullable: true),
                    is_forum = table.Column<bool>(type: "boolean", nullable: false),
                    time_zone = table.Column<string>(type: "text", nullable: false, defaultValue: "UTC"),
                    language = table.Column<string>(type: "text", nullable: true),
                    retention_days = table.Column<int>(type: "integer", nullable: true),
                    store_text = table.Column<bool>(type: "boolean", nullable: false, defaultValue: true),
                    settings = table.Column<string>(type: "jsonb", nullable: false, defaultValueSql: "'{}'::jsonb"),
                    migrated_to_chat_id = table.Column<long>(type: "bigint", nullable: true),
                    bot_status = table.Column<string>(type: "text", nullable: true),
                    first_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chats", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "dead_letters",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    update_id = table.Column<long>(type: "bigint", nullable: true),
                    chat_id = table.Column<long>(type: "bigint", nullable: true),
                    payload = table.Column<string>(type: "text", nullable: false),
                    error = table.Column<string>(type: "text", nullable: false),
                    failed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_dead_letters", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "instances",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    role = table.Column<string>(type: "text", nullable: false),
                    host = table.Column<string>(type: "text", nullable: false),
                    pid = table.Column<int>(type: "integer", nullable: false),
                    state = table.Column<string>(type: "text", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    heartbeat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_instances", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "messages",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    message_id = table.Column<int>(type: "integer", nullable: false),
                    sender_user_id = table.Column<long>(type: "bigint", nullable: true),
                    sender_chat_id = table.Column<long>(type: "bigint", nullable: true),
                    sent_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    kind = table.Column<short>(type: "smallint", nullable: false),
                    text = table.Column<string>(type: "text", nullable: true),
                    char_count = table.Column<int>(type: "integer", nullable: false),
                    word_count = table.Column<int>(type: "integer", nullable: false),
                    reply_to_message_id = table.Column<int>(type: "integer", nullable: true),
                    reply_to_user_id = table.Column<long>(type: "bigint", nullable: true),
                    is_forwarded = table.Column<bool>(type: "boolean", nullable: false),
                    thread_id = table.Column<int>(type: "integer", nullable: true),
                    edited_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    counted = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_messages", x => new { x.chat_id, x.message_id });
                });

            migrationBuilder.CreateTable(
                name: "service_events",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    message_id = table.Column<int>(type: "integer", nullable: false),
                    seq = table.Column<short>(type: "smallint", nullable: false),
                    kind = table.Column<short>(type: "smallint", nullable: false),
                    user_id = table.Column<long>(type: "bigint", nullable: true),
                    target_user_id = table.Column<long>(type: "bigint", nullable: true),
                    data = table.Column<string>(type: "text", nullable: true),
                    occurred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_service_events", x => new { x.chat_id, x.message_id, x.seq });
                });

            migrationBuilder.CreateTable(
                name: "user_name_history",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    user_id = table.Column<long>(type: "bigint", nullable: false),
                    first_name = table.Column<string>(type: "text", nullable: false),
                    last_name = table.Column<string>(type: "text", nullable: true),
                    username = table.Column<string>(type: "text", nullable: true),
                    seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_user_name_history", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "users",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false),
                    is_bot = table.Column<bool>(type: "boolean", nullable: false),
                    first_name = table.Column<string>(type: "text", nullable: false),
                    last_name = table.Column<string>(type: "text", nullable: true),
                    username = table.Column<string>(type: "text", nullable: true),
                    language_code = table.Column<string>(type: "text", nullable: true),
                    first_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_users", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_chat_title_history_chat_id_message_id",
                table: "chat_title_history",
                columns: new[] { "chat_id", "message_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_chat_user_hourly_chat_id_user_id_hour",
                table: "chat_user_hourly",
                columns: new[] { "chat_id", "user_id", "hour" });

            migrationBuilder.CreateIndex(
                name: "ix_dead_letters_failed_at",
                table: "dead_letters",
                column: "failed_at");

            migrationBuilder.CreateIndex(
                name: "ix_dead_letters_update_id",
                table: "dead_letters",
                column: "update_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_messages_chat_id_sender_user_id_sent_at",
                table: "messages",
                columns: new[] { "chat_id", "sender_user_id", "sent_at" });

            migrationBuilder.CreateIndex(
                name: "ix_service_events_chat_id_target_user_id",
                table: "service_events",
                columns: new[] { "chat_id", "target_user_id" });

            migrationBuilder.CreateIndex(
                name: "ix_user_name_history_user_id_seen_at",
                table: "user_name_history",
                columns: new[] { "user_id", "seen_at" });

            migrationBuilder.CreateIndex(
                name: "ix_users_username",
                table: "users",
                column: "username");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "chat_title_history");

            migrationBuilder.DropTable(
                name: "chat_user_hourly");

            migrationBuilder.DropTable(
                name: "chats");

            migrationBuilder.DropTable(
                name: "dead_letters");

            migrationBuilder.DropTable(
                name: "instances");

            migrationBuilder.DropTable(
                name: "messages");

            migrationBuilder.DropTable(
                name: "service_events");

            migrationBuilder.DropTable(
                name: "user_name_history");

            migrationBuilder.DropTable(
                name: "users");
        }
    }
}
