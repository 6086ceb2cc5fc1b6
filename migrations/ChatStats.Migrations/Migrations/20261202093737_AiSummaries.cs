using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class AiSummaries : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "ai_tokens",
                table: "chat_daily_usage",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateTable(
                name: "chat_summary_state",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    last_summary_to = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chat_summary_state", x => x.chat_id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "chat_summary_state");

            migrationBuilder.DropColumn(
                name: "ai_tokens",
                table: "chat_daily_usage");
        }
    }
}
