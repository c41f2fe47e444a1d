-- 010_drop_redundant_step_index: every step lookup names the run, which the unique index on
-- (pipeline_run_id, position) already serves; the extra index only cost a write per step row
-- (30,000 of them for a 10,000-entity, three-step submit).
DROP INDEX IF EXISTS step_results_org_run_idx;
