using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class DeferredMemberTotals : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Imports append member totals to a pending heap and fold them once, instead of updating every member's
            // totals in every batch (see RollupTriggers).
            migrationBuilder.Sql(ChatStats.Bot.Data.RollupTriggers.CreatePending);
            migrationBuilder.Sql(ChatStats.Bot.Data.RollupTriggers.Replace);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ChatStats.Bot.Data.RollupTriggers.FoldPending);
            migrationBuilder.Sql("DROP TABLE chat_user_totals_pending");
        }
    }
}
