using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class WordRollup : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Word counts per chat and UTC day, and all time, folded from texts the triggers on messages leave pending
            // (see WordRollup). The texts already stored become pending too: the bot's folder counts the history in the
            // background, and /words counts what is still pending itself, so answers are exact from the first minute.
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.CreateTables);
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.Create);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ChatStats.Bot.Data.WordRollup.Drop);
        }
    }
}
