-- Indexes for operational queries, beyond those the migrations create. The release
-- step (docs/deployment.md) runs this after the migrations:
--   psql -h HOST -U postgres -d entmoot -v ON_ERROR_STOP=1 < scripts/create-indices.sql
--
-- Idempotent (IF NOT EXISTS) and non-blocking (CONCURRENTLY: writes go on while an
-- index builds; psql runs each statement in its own transaction, as CONCURRENTLY
-- requires). If a build is interrupted, PostgreSQL leaves an INVALID index that
-- IF NOT EXISTS would keep: drop it (DROP INDEX CONCURRENTLY name) and run again.
--
-- Already created by the migrations, so not repeated here: the GIST index on every
-- geometry (buildings_geom_gist serves as idx_buildings_location), the
-- organization, project, site and job foreign-key indexes, jobs(status, created_at),
-- layouts(job_id, rank) and buildings(layout_id).

-- Queued and running jobs, oldest first (worker recovery, the active-jobs views and
-- the entmoot_jobs gauges): a small partial index instead of scanning finished jobs.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_unfinished_created_at_idx
  ON jobs (created_at)
  WHERE status IN ('queued', 'running');

-- Finished jobs by completion time (the business dashboard, retention clean-ups).
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_finished_at_idx
  ON jobs (finished_at)
  WHERE finished_at IS NOT NULL;

-- Layouts and buildings of an organization (ownership checks on direct lookups).
CREATE INDEX CONCURRENTLY IF NOT EXISTS layouts_organization_id_created_at_idx
  ON layouts (organization_id, created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS buildings_organization_id_idx
  ON buildings (organization_id);

-- Fresh statistics for the planner after a restore or a bulk load.
ANALYZE jobs;
ANALYZE layouts;
ANALYZE buildings;
