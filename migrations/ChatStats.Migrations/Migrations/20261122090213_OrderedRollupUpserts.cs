using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class OrderedRollupUpserts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Upserts in key order, so concurrent writers (parallel imports) wait on each other instead of deadlocking.
            migrationBuilder.Sql(ChatStats.Bot.Data.RollupTriggers.Replace);

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
