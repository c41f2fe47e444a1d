-- 003_api_tokens_user_id: a token may act for a user of the same org; deactivating that user
-- disables the token. The composite key keeps the user inside the token's org.
ALTER TABLE api_tokens ADD COLUMN user_id uuid;
ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_org_user_fkey
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id);
CREATE INDEX api_tokens_org_created_idx ON api_tokens (org_id, created_at DESC, id DESC);
CREATE INDEX users_org_created_idx ON users (org_id, created_at DESC, id DESC);
CREATE INDEX companies_org_created_idx ON companies (org_id, created_at DESC, id DESC);
CREATE INDEX blueprints_org_created_idx ON blueprints (org_id, created_at DESC, id DESC);
