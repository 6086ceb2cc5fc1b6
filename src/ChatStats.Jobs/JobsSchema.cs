namespace ChatStats.Jobs;

/// <summary>
/// The job store, in a schema of its own: applied by the application's migrations (one
/// <c>migrationBuilder.Sql(JobsSchema.Create)</c>), so <c>dotnet ef database update</c> creates it with everything else.
/// </summary>
public static class JobsSchema
{
    /// <summary>Job states as stored. A failed job is waiting for its next attempt; a dead one has none left.</summary>
    public static class States
    {
        public const string Scheduled = "scheduled";
        public const string Enqueued = "enqueued";
        public const string Processing = "processing";
        public const string Succeeded = "succeeded";
        public const string Failed = "failed";
        public const string Dead = "dead";
        public const string Deleted = "deleted";

        public static readonly string[] All = [Scheduled, Enqueued, Processing, Succeeded, Failed, Dead, Deleted];
    }

    public const string NotifyChannel = "chatstats_jobs";

    public const string Create = """
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

    public const string Drop = "DROP SCHEMA IF EXISTS jobs CASCADE;";
}
