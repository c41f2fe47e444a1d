-- 001_initial_schema: tenants, the operation catalog, blueprints and pipeline state.
--
-- Tenant integrity is enforced by the database itself, not only by the API: every child row
-- carries org_id, and composite foreign keys (org_id, <parent>_id) -> parent(org_id, id) make a
-- row that points at another org's company, blueprint, submission or run impossible to insert.
-- Uses only core features (gen_random_uuid() is core since PG 13; citext ships with both the
-- embedded 18 and Supabase's 15).

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE entity_type AS ENUM ('company', 'person');
CREATE TYPE user_role AS ENUM ('org_admin', 'company_admin', 'member');
CREATE TYPE submission_status AS ENUM ('received', 'queued', 'running', 'completed', 'failed', 'canceled');
CREATE TYPE pipeline_run_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'canceled');
CREATE TYPE step_result_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'skipped');

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE orgs (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    slug        citext NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE companies (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    external_ref  text CHECK (length(external_ref) <= 200),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- target of every composite (org_id, company_id) foreign key below
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX companies_org_external_ref_key ON companies (org_id, external_ref)
    WHERE external_ref IS NOT NULL;

CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    company_id  uuid,
    -- login is by email alone, so an email is unique across the platform
    email       citext NOT NULL UNIQUE CHECK (length(email) <= 320),
    full_name   text CHECK (length(full_name) <= 200),
    role        user_role NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id),
    -- an org_admin spans the org; the other roles are bound to one company
    CONSTRAINT users_role_company_check CHECK ((role = 'org_admin') = (company_id IS NULL))
);

CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    company_id    uuid,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    role          user_role NOT NULL,
    -- sha256 of the plaintext; the plaintext is shown once and never stored
    token_hash    text NOT NULL UNIQUE,
    token_prefix  text NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id),
    CONSTRAINT api_tokens_role_company_check CHECK ((role = 'org_admin') = (company_id IS NULL))
);

CREATE TABLE super_admins (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email       citext NOT NULL UNIQUE,
    full_name   text,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The global registry of operations (the catalog). Platform-wide, not tenant data; the API keeps
-- it in sync with the operation registry in code.
CREATE TABLE steps (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9_]+(\.[a-z0-9_]+)+$'),
    name         text NOT NULL,
    description  text,
    entity_type  entity_type NOT NULL,
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blueprints (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description  text CHECK (length(description) <= 2000),
    entity_type  entity_type NOT NULL,
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id)
);

CREATE TABLE blueprint_steps (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL,
    blueprint_id  uuid NOT NULL,
    step_id       uuid NOT NULL REFERENCES steps (id),
    position      integer NOT NULL CHECK (position >= 1),
    is_enabled    boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, blueprint_id) REFERENCES blueprints (org_id, id) ON DELETE CASCADE,
    UNIQUE (blueprint_id, position)
);

CREATE TABLE submissions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    company_id    uuid NOT NULL,
    blueprint_id  uuid NOT NULL,
    status        submission_status NOT NULL DEFAULT 'received',
    source        text CHECK (length(source) <= 200),
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    entity_count  integer NOT NULL DEFAULT 0 CHECK (entity_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    UNIQUE (org_id, company_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id),
    FOREIGN KEY (org_id, blueprint_id) REFERENCES blueprints (org_id, id)
);
CREATE INDEX submissions_org_created_idx ON submissions (org_id, created_at DESC, id DESC);

CREATE TABLE pipeline_runs (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id              uuid NOT NULL,
    company_id          uuid NOT NULL,
    submission_id       uuid NOT NULL,
    entity_index        integer NOT NULL CHECK (entity_index >= 0),
    entity_type         entity_type NOT NULL,
    status              pipeline_run_status NOT NULL DEFAULT 'queued',
    blueprint_snapshot  jsonb NOT NULL,
    blueprint_version   text NOT NULL,
    input               jsonb NOT NULL,
    final_context       jsonb,
    error_message       text,
    attempt             integer NOT NULL DEFAULT 0,
    started_at          timestamptz,
    finished_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    UNIQUE (submission_id, entity_index),
    -- a run belongs to its submission's org and company
    FOREIGN KEY (org_id, company_id, submission_id)
        REFERENCES submissions (org_id, company_id, id) ON DELETE CASCADE
);
CREATE INDEX pipeline_runs_org_created_idx ON pipeline_runs (org_id, created_at DESC, id DESC);

CREATE TABLE step_results (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL,
    pipeline_run_id  uuid NOT NULL,
    step_id          uuid NOT NULL REFERENCES steps (id),
    position         integer NOT NULL CHECK (position >= 1),
    status           step_result_status NOT NULL DEFAULT 'queued',
    input            jsonb,
    output           jsonb,
    context_after    jsonb,
    error_message    text,
    started_at       timestamptz,
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, pipeline_run_id) REFERENCES pipeline_runs (org_id, id) ON DELETE CASCADE,
    UNIQUE (pipeline_run_id, position)
);

CREATE TRIGGER orgs_updated_at BEFORE UPDATE ON orgs FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER companies_updated_at BEFORE UPDATE ON companies FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER api_tokens_updated_at BEFORE UPDATE ON api_tokens FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER super_admins_updated_at BEFORE UPDATE ON super_admins FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER steps_updated_at BEFORE UPDATE ON steps FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER blueprints_updated_at BEFORE UPDATE ON blueprints FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER blueprint_steps_updated_at BEFORE UPDATE ON blueprint_steps FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER submissions_updated_at BEFORE UPDATE ON submissions FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER pipeline_runs_updated_at BEFORE UPDATE ON pipeline_runs FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER step_results_updated_at BEFORE UPDATE ON step_results FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Row level security on: on Supabase this closes every table to the anon and authenticated
-- roles of the auto-generated REST API. The API connects as the tables' owner, which RLS does
-- not restrict; tenancy is enforced by its queries and by the constraints above.
ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE super_admins ENABLE ROW LEVEL SECURITY;
ALTER TABLE steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE blueprints ENABLE ROW LEVEL SECURITY;
ALTER TABLE blueprint_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE submissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE step_results ENABLE ROW LEVEL SECURITY;
