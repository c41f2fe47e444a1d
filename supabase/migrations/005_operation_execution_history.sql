-- 005_operation_execution_history: every /api/v1/execute call (direct or from a pipeline step)
-- leaves one operation_runs row and one operation_attempts row per provider attempt.
CREATE TYPE operation_run_status AS ENUM ('found', 'not_found', 'verified', 'failed');
CREATE TYPE operation_attempt_status AS ENUM ('found', 'not_found', 'failed', 'skipped', 'verified');
CREATE TYPE auth_method AS ENUM ('api_token', 'jwt', 'internal', 'super_admin');

CREATE TABLE operation_runs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    company_id       uuid,
    user_id          uuid,
    api_token_id     uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
    auth_method      auth_method NOT NULL,
    operation_id     text NOT NULL,
    entity_type      entity_type NOT NULL,
    status           operation_run_status NOT NULL,
    input            jsonb NOT NULL,
    output           jsonb,
    missing_inputs   text[] NOT NULL DEFAULT '{}',
    options          jsonb NOT NULL DEFAULT '{}'::jsonb,
    pipeline_run_id  uuid,
    step_position    integer,
    duration_ms      integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, pipeline_run_id) REFERENCES pipeline_runs (org_id, id) ON DELETE SET NULL (pipeline_run_id)
);
CREATE INDEX operation_runs_org_created_idx ON operation_runs (org_id, created_at DESC, id DESC);
CREATE INDEX operation_runs_pipeline_run_idx ON operation_runs (pipeline_run_id) WHERE pipeline_run_id IS NOT NULL;

CREATE TABLE operation_attempts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL,
    run_id           uuid NOT NULL,
    position         integer NOT NULL CHECK (position >= 1),
    provider         text NOT NULL,
    action           text NOT NULL,
    status           operation_attempt_status NOT NULL,
    skip_reason      text,
    http_status      integer,
    provider_status  text,
    duration_ms      integer NOT NULL DEFAULT 0,
    raw_response     jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, run_id) REFERENCES operation_runs (org_id, id) ON DELETE CASCADE,
    UNIQUE (run_id, position)
);

ALTER TABLE operation_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE operation_attempts ENABLE ROW LEVEL SECURITY;
