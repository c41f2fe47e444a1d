-- 018_result_cache: never pay twice (CONTRACT §9.2, docs/decisions/0049-result-cache.md).
--   cached              the run answered from an earlier run of the org; no provider was called
--   cached_from_run_id  that earlier run (the one that called the providers)
--   cache_key           hash of operation, canonical input and provider order (app/operations/result_cache.py)
-- IF NOT EXISTS: another change of the same wave adds `cached` and `cached_from_run_id` too.
ALTER TABLE operation_runs
    ADD COLUMN IF NOT EXISTS cached boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS cached_from_run_id uuid,
    ADD COLUMN IF NOT EXISTS cache_key text;
-- the cache lookup: the newest answered, provider-backed run of an org for one key
CREATE INDEX IF NOT EXISTS operation_runs_cache_idx
    ON operation_runs (org_id, operation_id, cache_key, created_at DESC)
    WHERE cache_key IS NOT NULL AND NOT cached AND status IN ('found', 'not_found', 'verified');

-- single flight across API processes: the process calling the providers for (org, key) holds a
-- claim until it has recorded the run; others wait for that run instead of calling too. A claim
-- of a process that died expires.
CREATE TABLE operation_cache_claims (
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    cache_key   text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, cache_key)
);
ALTER TABLE operation_cache_claims ENABLE ROW LEVEL SECURITY;
