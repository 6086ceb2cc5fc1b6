using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ChatTier : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "tier",
                table: "chats",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "tier",
                table: "chats");
        }
    }
}
