using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ChatOrder : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "chat_id",
                table: "handled_updates",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "finished_at",
                table: "handled_updates",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_handled_updates_unfinished",
                table: "handled_updates",
                columns: new[] { "chat_id", "update_id" },
                filter: "finished_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_handled_updates_unfinished",
                table: "handled_updates");

            migrationBuilder.DropColumn(
                name: "chat_id",
                table: "handled_updates");

            migrationBuilder.DropColumn(
                name: "finished_at",
                table: "handled_updates");
        }
    }
}
