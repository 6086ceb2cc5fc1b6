using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class UpdateInbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_messages_chat_id_sender_user_id_sent_at",
                table: "messages");

            migrationBuilder.AlterTable(
                name: "chat_user_hourly")
                .Annotation("Npgsql:StorageParameter:fillfactor", 70);

            migrationBuilder.CreateTable(
                name: "update_inbox",
                columns: table => new
                {
                    first_update_id = table.Column<long>(type: "bigint", nullable: false),
                    last_update_id = table.Column<long>(type: "bigint", nullable: false),
                    update_count = table.Column<int>(type: "integer", nullable: false),
                    payload = table.Column<byte[]>(type: "bytea", nullable: false),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_update_inbox", x => x.first_update_id);
                });

            // LZ4 compresses the inbox's JSON payloads faster than the default pglz; servers built without it keep pglz.
            migrationBuilder.Sql("""
                DO $$
                BEGIN
                  ALTER TABLE update_inbox ALTER COLUMN payload SET COMPRESSION lz4;
                EXCEPTION WHEN OTHERS THEN
                  RAISE NOTICE 'lz4 is not available (%); update_inbox keeps the default compression', SQLERRM;
                END $$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "update_inbox");

            migrationBuilder.AlterTable(
                name: "chat_user_hourly")
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 70);

            migrationBuilder.CreateIndex(
                name: "ix_messages_chat_id_sender_user_id_sent_at",
                table: "messages",
                columns: new[] { "chat_id", "sender_user_id", "sent_at" });
        }
    }
}
