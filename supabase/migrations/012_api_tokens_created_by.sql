-- 012_api_tokens_created_by: every token records who created it, so deactivating a user can
-- revoke what that user minted (docs/decisions/0026-token-creators.md).
--   created_by_kind          how the creator authenticated (NULL: created before this migration)
--   created_by_user_id       the user at the root of the creation chain, if any
--   created_by_api_token_id  the token that created this one (kind api_token)
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_org_id_id_key UNIQUE (org_id, id);
ALTER TABLE api_tokens
    ADD COLUMN created_by_kind auth_method,
    ADD COLUMN created_by_user_id uuid,
    ADD COLUMN created_by_api_token_id uuid,
    ADD CONSTRAINT api_tokens_org_created_by_user_fkey
        FOREIGN KEY (org_id, created_by_user_id) REFERENCES users (org_id, id),
    ADD CONSTRAINT api_tokens_org_created_by_token_fkey
        FOREIGN KEY (org_id, created_by_api_token_id) REFERENCES api_tokens (org_id, id),
    ADD CONSTRAINT api_tokens_created_by_token_check
        CHECK ((created_by_kind = 'api_token') = (created_by_api_token_id IS NOT NULL)),
    ADD CONSTRAINT api_tokens_created_by_jwt_check
        CHECK (created_by_kind <> 'jwt' OR created_by_user_id IS NOT NULL);
-- deactivating a user finds the tokens bound to, created by, or descended from them
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX api_tokens_created_by_user_idx ON api_tokens (created_by_user_id) WHERE created_by_user_id IS NOT NULL;
CREATE INDEX api_tokens_created_by_token_idx ON api_tokens (created_by_api_token_id)
    WHERE created_by_api_token_id IS NOT NULL;
