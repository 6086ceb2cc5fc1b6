using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class HangfireReplacesJobQueue : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "data_protection_keys",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    friendly_name = table.Column<string>(type: "text", nullable: true),
                    xml = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_data_protection_keys", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "report_requests",
                columns: table => new
                {
                    chat_id = table.Column<long>(type: "bigint", nullable: false),
                    period = table.Column<string>(type: "text", nullable: false),
                    job_id = table.Column<string>(type: "text", nullable: true),
                    requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_report_requests", x => new { x.chat_id, x.period });
                });

            migrationBuilder.CreateIndex(
                name: "ix_report_requests_one_running",
                table: "report_requests",
                column: "chat_id",
                unique: true,
                filter: "started_at IS NOT NULL");

            // The old job queue gives way to Hangfire (schema hangfire, installed by chatstats migrate or the first start).
            // Its jobs still waiting (scheduled, enqueued, running when its worker stopped, failed and due for a retry)
            // are kept in legacy_jobs, which chatstats migrate and the workers carry into Hangfire (Jobs.LegacyJobs) and
            // then drop; the reports among them become requests again. Nothing is lost by dotnet ef database update alone.
            // A fresh installation has nothing waiting and gets no legacy_jobs table at all.
            migrationBuilder.Sql("""
                DO $$
                BEGIN
                  IF EXISTS (SELECT 1 FROM jobs.job WHERE state IN ('scheduled', 'enqueued', 'processing', 'failed')) THEN
                    CREATE TABLE legacy_jobs AS
                      SELECT id, queue, type, args, state, run_at
                      FROM jobs.job WHERE state IN ('scheduled', 'enqueued', 'processing', 'failed');
                    ALTER TABLE legacy_jobs ADD PRIMARY KEY (id);
                    INSERT INTO report_requests (chat_id, period, requested_at)
                      SELECT DISTINCT ON ((args->>'chatId')::bigint, args->>'period') (args->>'chatId')::bigint, args->>'period', now()
                      FROM legacy_jobs WHERE type = 'report' AND args ? 'chatId' AND args ? 'period'
                      ON CONFLICT DO NOTHING;
                  END IF;
                END
                $$;
                DROP SCHEMA jobs CASCADE;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // The old queue's schema comes back empty: Hangfire's jobs are not carried back.
            migrationBuilder.Sql(JobsSchema.Create);
            migrationBuilder.Sql("DROP TABLE IF EXISTS legacy_jobs");

            migrationBuilder.DropTable(
                name: "data_protection_keys");

            migrationBuilder.DropTable(
                name: "report_requests");
        }
    }
}
