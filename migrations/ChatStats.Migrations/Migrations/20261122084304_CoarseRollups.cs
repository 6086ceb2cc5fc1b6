using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class CoarseRollups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "chat_hourly",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    hour = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    messages = table.Column<long>(type: "bigint", nullable: false),
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
                    table.PrimaryKey("pk_chat_hourly", x => new { x.chat_id, x.hour });
                })
                .Annotation("Npgsql:StorageParameter:fillfactor", 70);

            migrationBuilder.CreateTable(
                name: "chat_user_totals",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    user_id = table.Column<long>(type: "bigint", nullable: false),
                    messages = table.Column<long>(type: "bigint", nullable: false),
                    words = table.Column<long>(type: "bigint", nullable: false),
                    chars = table.Column<long>(type: "bigint", nullable: false),
                    media = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chat_user_totals", x => new { x.chat_id, x.user_id });
                })
                .Annotation("Npgsql:StorageParameter:fillfactor", 70);

            migrationBuilder.Sql(ChatStats.Bot.Data.RollupTriggers.Create);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ChatStats.Bot.Data.RollupTriggers.Drop);

            migrationBuilder.DropTable(
                name: "chat_hourly");

            migrationBuilder.DropTable(
                name: "chat_user_totals");
        }
    }
}
