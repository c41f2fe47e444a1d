-- 016_entity_history: what the entity history reads (CONTRACT §9.3; docs/decisions/0044).
--
-- The link from an entity to the runs that built it is already stored: entity_versions holds one
-- row per (entity, run) upsert, so the timeline joins entity_versions -> step_results and needs no
-- new column on pipeline_runs.
--
-- operation_runs.cached / cached_from_run_id: an operation run answered from the org's result
-- cache (CONTRACT §9.2) instead of a provider, and the run whose result it reused. The cache itself
-- is a later change; the timeline's `cached` reads this column from now on (false until then).
ALTER TABLE operation_runs
    ADD COLUMN IF NOT EXISTS cached boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS cached_from_run_id uuid;
ALTER TABLE operation_runs
    -- the reused run belongs to the same org; deleting it leaves the copy, unlinked
    ADD CONSTRAINT operation_runs_cached_from_fkey
        FOREIGN KEY (org_id, cached_from_run_id) REFERENCES operation_runs (org_id, id)
        ON DELETE SET NULL (cached_from_run_id),
    ADD CONSTRAINT operation_runs_cached_from_check CHECK (cached_from_run_id IS NULL OR cached);

-- step_results.skip_reason: why a step was skipped (`condition_not_met`, `fresh`, CONTRACT §9.1),
-- shown by the timeline. IF NOT EXISTS: the blueprint-condition change adds the same column.
ALTER TABLE step_results ADD COLUMN IF NOT EXISTS skip_reason text;
