-- 006_blueprint_operation_steps: blueprint steps and step results name their operation by its
-- stable operation_id and carry per-step configuration (provider order, options).
ALTER TABLE blueprint_steps
    ADD COLUMN operation_id text,
    ADD COLUMN step_config jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(step_config) = 'object');
UPDATE blueprint_steps bs SET operation_id = s.slug FROM steps s WHERE s.id = bs.step_id;
ALTER TABLE blueprint_steps ALTER COLUMN operation_id SET NOT NULL;
ALTER TABLE blueprint_steps
    ADD CONSTRAINT blueprint_steps_operation_fkey FOREIGN KEY (operation_id) REFERENCES steps (slug);

ALTER TABLE step_results ADD COLUMN operation_id text;
UPDATE step_results sr SET operation_id = s.slug FROM steps s WHERE s.id = sr.step_id;
ALTER TABLE step_results ALTER COLUMN operation_id SET NOT NULL;
ALTER TABLE step_results ADD COLUMN step_config jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE step_results ADD COLUMN operation_run_id uuid;
ALTER TABLE step_results
    ADD CONSTRAINT step_results_operation_run_fkey
    FOREIGN KEY (org_id, operation_run_id) REFERENCES operation_runs (org_id, id);
