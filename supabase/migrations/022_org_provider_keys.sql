-- 022_org_provider_keys: an org's own provider keys, sealed at rest (CONTRACT §9.5,
-- docs/provider-keys.md, docs/decisions/0059-provider-keys.md).
--   sealed_key    "enc1:<key id>:<nonce>:<ciphertext>": AES-256-GCM under DATA_ENGINE_ENCRYPTION_KEY,
--                 bound to (org_id, provider), so a value copied to another row does not open
--   last4         the key's last four characters, all `provider-keys/list` ever shows of it
--   last_used_at  when the org's calls last used it (written at most about once a minute)
CREATE TABLE org_provider_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    provider      text NOT NULL CHECK (provider ~ '^[a-z0-9_]{1,64}$'),
    sealed_key    text NOT NULL CHECK (sealed_key LIKE 'enc1:%'),
    last4         text NOT NULL CHECK (length(last4) <= 4),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    UNIQUE (org_id, provider),
    UNIQUE (org_id, id)
);
CREATE TRIGGER org_provider_keys_updated_at BEFORE UPDATE ON org_provider_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE org_provider_keys ENABLE ROW LEVEL SECURITY;

-- Webhook signing secrets are sealed the same way from now on (bound to the org and the webhook).
-- A row written before this migration keeps its plaintext `whsec_…` value and still signs;
-- `python -m app reencrypt-keys` seals it, and a rotation replaces it with a sealed one.
COMMENT ON COLUMN webhooks.secret IS 'sealed (enc1:…, app/encryption.py); a whsec_ value predates migration 022';
COMMENT ON COLUMN webhooks.previous_secret IS 'sealed like secret; a whsec_ value predates migration 022';
