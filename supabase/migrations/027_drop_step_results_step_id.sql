-- 027_drop_step_results_step_id: a step row named its catalog entry twice, by `operation_id` (the
-- catalog's slug, what every reader uses) and by `step_id` (the catalog row's uuid, which nothing
-- read). Catalog rows are never deleted (a removed operation is marked inactive, and blueprints
-- reference it by slug), so the foreign key on `step_id` guarded nothing, yet Postgres checked it
-- for every step row a submit writes: 30,000 checks for 10,000 entities of three steps.
ALTER TABLE step_results DROP COLUMN step_id;
