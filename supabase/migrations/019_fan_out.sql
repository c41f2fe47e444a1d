-- 019_fan_out: child pipeline runs created by a fan-out step (CONTRACT §9.1).
-- A child belongs to its parent's org (composite key), lives in the same submission, and sits at
-- depth 1..3 below a root (depth 0). `child_key` is the child's natural key within its
-- submission: the unique index is what makes a repeated or racing step answer unable to create
-- a second set of children.
ALTER TABLE pipeline_runs
    ADD COLUMN parent_pipeline_run_id uuid,
    ADD COLUMN depth smallint NOT NULL DEFAULT 0 CHECK (depth BETWEEN 0 AND 3),
    ADD COLUMN child_key text,
    ADD CONSTRAINT pipeline_runs_parent_fkey
        FOREIGN KEY (org_id, parent_pipeline_run_id) REFERENCES pipeline_runs (org_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT pipeline_runs_child_shape
        CHECK ((parent_pipeline_run_id IS NULL) = (depth = 0) AND (child_key IS NULL OR depth > 0));
CREATE UNIQUE INDEX pipeline_runs_submission_child_key ON pipeline_runs (submission_id, child_key)
    WHERE child_key IS NOT NULL;
CREATE INDEX pipeline_runs_parent_idx ON pipeline_runs (parent_pipeline_run_id)
    WHERE parent_pipeline_run_id IS NOT NULL;

-- the fan-out a blueprint step declares, frozen into each run's snapshot like the rest of the step
ALTER TABLE blueprint_steps ADD COLUMN fan_out jsonb;

-- why a step was skipped (another change may add it first), and what a fan-out step created
ALTER TABLE step_results ADD COLUMN IF NOT EXISTS skip_reason text;
ALTER TABLE step_results ADD COLUMN fan_out jsonb;

-- a person found by a company's fan-out is linked to that company's record
ALTER TABLE person_entities
    ADD COLUMN company_entity_id uuid,
    ADD CONSTRAINT person_entities_company_entity_fkey
        FOREIGN KEY (org_id, company_entity_id) REFERENCES company_entities (org_id, id)
        ON DELETE SET NULL (company_entity_id);
CREATE INDEX person_entities_company_entity_idx ON person_entities (company_entity_id)
    WHERE company_entity_id IS NOT NULL;
