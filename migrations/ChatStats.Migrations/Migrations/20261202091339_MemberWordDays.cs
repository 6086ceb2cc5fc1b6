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
            // Each member's words per packed day, for /words @user on a big chat; every packed day is packed again so
            // the bot's folder writes them (see WordRollup.CreateMemberDays). Until it has, readers count those days
            // from the texts, as before.
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.CreateMemberDays);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.DropMemberDays);
        }
    }
}
