using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatStats.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class JobsSchema : Migration
    {
        internal const string Create = """
        CREATE SCHEMA IF NOT EXISTS jobs;

        CREATE TABLE jobs.job (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          queue text NOT NULL,
          type text NOT NULL,
          args jsonb NOT NULL,
          priority int NOT NULL DEFAULT 0,
          state text NOT NULL,
          attempt int NOT NULL DEFAULT 0,
          max_attempts int NOT NULL,
          run_at timestamptz NOT NULL,
          unique_key text,
          concurrency_key text,
          worker text,
          lease_until timestamptz,
          progress int,
          created_at timestamptz NOT NULL,
          started_at timestamptz,
          finished_at timestamptz,
          last_error text,
          recurring text
        );
        -- Claiming: the next job of a queue by priority, then time.
        CREATE INDEX job_claim ON jobs.job (queue, priority DESC, run_at, id) WHERE state IN ('scheduled', 'enqueued', 'failed');
        -- Rescue: leases that ran out.
        CREATE INDEX job_lease ON jobs.job (lease_until) WHERE state = 'processing';
        -- Listing by state, newest first (the dashboard).
        CREATE INDEX job_state ON jobs.job (state, id DESC);
        -- One pending or running job per unique key: enqueueing again returns the existing one.
        CREATE UNIQUE INDEX job_unique ON jobs.job (unique_key) WHERE unique_key IS NOT NULL AND state IN ('scheduled', 'enqueued', 'processing', 'failed');
        -- At most one running job per concurrency key, across every process: the database enforces it.
        CREATE UNIQUE INDEX job_one_running ON jobs.job (concurrency_key) WHERE concurrency_key IS NOT NULL AND state = 'processing';

        CREATE TABLE jobs.attempt (
          job_id bigint NOT NULL REFERENCES jobs.job (id) ON DELETE CASCADE,
          attempt int NOT NULL,
          worker text NOT NULL,
          started_at timestamptz NOT NULL,
          finished_at timestamptz NOT NULL,
          outcome text NOT NULL,
          error text,
          PRIMARY KEY (job_id, attempt, started_at)
        );

        CREATE TABLE jobs.server (
          id text PRIMARY KEY,
          host text NOT NULL,
          pid int NOT NULL,
          queues jsonb NOT NULL,
          started_at timestamptz NOT NULL,
          heartbeat_at timestamptz NOT NULL
        );

        CREATE TABLE jobs.recurring (
          name text PRIMARY KEY,
          cron text NOT NULL,
          time_zone text NOT NULL,
          type text NOT NULL,
          args jsonb NOT NULL,
          queue text NOT NULL,
          next_run_at timestamptz NOT NULL,
          last_run_at timestamptz,
          last_job_id bigint,
          created_at timestamptz NOT NULL
        );

        -- Finished jobs per minute for the dashboard's chart.
        CREATE INDEX job_finished ON jobs.job (finished_at) WHERE finished_at IS NOT NULL;
        """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The job queue's own schema, as ChatStats.Jobs had it (that project was replaced by Hangfire; see
            // HangfireReplacesJobQueue, which carries its waiting jobs over and drops it).
            migrationBuilder.Sql(Create);

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP SCHEMA IF EXISTS jobs CASCADE;");

        }
    }
}
