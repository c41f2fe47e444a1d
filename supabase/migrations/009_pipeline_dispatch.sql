-- 009_pipeline_dispatch: what batch submit, dispatch and the worker callbacks need.
ALTER TABLE pipeline_runs
    -- when the orchestrator acknowledged the run (trigger mode); NULL runs are re-sent by the sweeper
    ADD COLUMN dispatched_at timestamptz,
    -- the orchestrator's own id for the run (Trigger.dev run id)
    ADD COLUMN external_id text;

-- the batch status summary and "is anything still open?" checks read these
CREATE INDEX pipeline_runs_submission_status_idx ON pipeline_runs (submission_id, status);
CREATE INDEX pipeline_runs_undispatched_idx ON pipeline_runs (created_at)
    WHERE status = 'queued' AND dispatched_at IS NULL;
CREATE INDEX step_results_org_run_idx ON step_results (org_id, pipeline_run_id, position);

ALTER TABLE submissions
    ADD COLUMN finished_at timestamptz;

-- Local (graphile-worker) hosts report here; the API force-unlocks jobs held by hosts that
-- stopped reporting, instead of waiting out graphile-worker's four-hour lock.
CREATE TABLE worker_heartbeats (
    worker_id   text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE worker_heartbeats ENABLE ROW LEVEL SECURITY;

CREATE INDEX company_entities_org_company_idx ON company_entities (org_id, company_id, updated_at DESC, id DESC);
CREATE INDEX person_entities_org_company_idx ON person_entities (org_id, company_id, updated_at DESC, id DESC);
