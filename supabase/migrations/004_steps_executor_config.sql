-- 004_steps_executor_config: per-operation execution defaults in the registry, read by the
-- worker when a blueprint step does not override them.
ALTER TABLE steps
    ADD COLUMN timeout_seconds integer NOT NULL DEFAULT 60 CHECK (timeout_seconds BETWEEN 1 AND 3600),
    ADD COLUMN max_retries integer NOT NULL DEFAULT 2 CHECK (max_retries BETWEEN 0 AND 10),
    ADD COLUMN default_providers text[] NOT NULL DEFAULT '{}';
