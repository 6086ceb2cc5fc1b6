using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class MemberWordDays : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Each busy member's words per packed day, for /words @user on a big chat; every packed day is packed again
            // so the bot's folder writes them (see WordRollup.CreateMemberDays). Until it has, readers count those days
            // from the texts, as before, found through the index below.
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.CreateMemberDays);
            migrationBuilder.CreateIndex(
                name: "ix_messages_chat_id_sender_user_id_sent_at",
                table: "messages",
                columns: new[] { "chat_id", "sender_user_id", "sent_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_messages_chat_id_sender_user_id_sent_at",
                table: "messages");
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.DropMemberDays);
        }
    }
}
