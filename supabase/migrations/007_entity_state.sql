-- 007_entity_state: canonical company and person records accumulated from succeeded runs.
-- Records belong to the client company whose runs produced them, so a company-scoped reader
-- sees exactly its own records (docs/decisions/0005-entity-scope.md). Natural keys are unique
-- within (org, company); record_version rises by one per run that changes the record.
CREATE TABLE company_entities (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                uuid NOT NULL,
    company_id            uuid NOT NULL,
    name                  text,
    domain                citext,
    linkedin_url          text,
    data                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    record_version        integer NOT NULL DEFAULT 1 CHECK (record_version >= 1),
    last_pipeline_run_id  uuid,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id)
);
CREATE UNIQUE INDEX company_entities_domain_key ON company_entities (org_id, company_id, domain)
    WHERE domain IS NOT NULL;
CREATE UNIQUE INDEX company_entities_linkedin_key ON company_entities (org_id, company_id, linkedin_url)
    WHERE linkedin_url IS NOT NULL;
CREATE INDEX company_entities_org_updated_idx ON company_entities (org_id, updated_at DESC, id DESC);

CREATE TABLE person_entities (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                uuid NOT NULL,
    company_id            uuid NOT NULL,
    full_name             text,
    linkedin_url          text,
    work_email            citext,
    company_domain        citext,
    data                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    record_version        integer NOT NULL DEFAULT 1 CHECK (record_version >= 1),
    last_pipeline_run_id  uuid,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id)
);
CREATE UNIQUE INDEX person_entities_linkedin_key ON person_entities (org_id, company_id, linkedin_url)
    WHERE linkedin_url IS NOT NULL;
CREATE UNIQUE INDEX person_entities_email_key ON person_entities (org_id, company_id, work_email)
    WHERE work_email IS NOT NULL;
CREATE INDEX person_entities_org_updated_idx ON person_entities (org_id, updated_at DESC, id DESC);

-- One version row per run that changed a record: the lineage, and what makes a repeated
-- delivery of the same run a no-op (its key already exists).
CREATE TABLE entity_versions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL,
    entity_type      entity_type NOT NULL,
    entity_id        uuid NOT NULL,
    record_version   integer NOT NULL,
    pipeline_run_id  uuid NOT NULL,
    data             jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, pipeline_run_id) REFERENCES pipeline_runs (org_id, id) ON DELETE CASCADE,
    UNIQUE (entity_type, entity_id, record_version),
    UNIQUE (pipeline_run_id, entity_type)
);

CREATE TRIGGER company_entities_updated_at BEFORE UPDATE ON company_entities FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER person_entities_updated_at BEFORE UPDATE ON person_entities FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE company_entities ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_entities ENABLE ROW LEVEL SECURITY;
ALTER TABLE entity_versions ENABLE ROW LEVEL SECURITY;
