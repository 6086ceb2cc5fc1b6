using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class InboxRowsAndHandledUpdates : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropPrimaryKey(
                name: "pk_update_inbox",
                table: "update_inbox");

            migrationBuilder.AddColumn<long>(
                name: "id",
                table: "update_inbox",
                type: "bigint",
                nullable: false)
                .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn);

            migrationBuilder.AddPrimaryKey(
                name: "pk_update_inbox",
                table: "update_inbox",
                column: "id");

            migrationBuilder.CreateTable(
                name: "handled_updates",
                columns: table => new
                {
                    update_id = table.Column<long>(type: "bigint", nullable: false),
                    handled_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_handled_updates", x => x.update_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_update_inbox_first_update_id_id",
                table: "update_inbox",
                columns: new[] { "first_update_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_handled_updates_handled_at",
                table: "handled_updates",
                column: "handled_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "handled_updates");

            migrationBuilder.DropPrimaryKey(
                name: "pk_update_inbox",
                table: "update_inbox");

            migrationBuilder.DropIndex(
                name: "ix_update_inbox_first_update_id_id",
                table: "update_inbox");

            migrationBuilder.DropColumn(
                name: "id",
                table: "update_inbox");

            // One row per first id again: a replay stored twice keeps its latest copy.
            migrationBuilder.Sql("""
                DELETE FROM update_inbox a USING update_inbox b
                WHERE a.first_update_id = b.first_update_id AND a.ctid < b.ctid
                """);

            migrationBuilder.AddPrimaryKey(
                name: "pk_update_inbox",
                table: "update_inbox",
                column: "first_update_id");
        }
    }
}
