using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class JobsSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The job queue's own schema (ChatStats.Jobs keeps its SQL; the application's migrations apply it).
            migrationBuilder.Sql(ChatStats.Jobs.JobsSchema.Create);

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ChatStats.Jobs.JobsSchema.Drop);

        }
    }
}
