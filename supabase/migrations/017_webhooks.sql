-- 017_webhooks: outgoing webhooks (CONTRACT §9.6; docs/webhooks.md, docs/decisions/0046-webhooks.md).
--   webhooks                    an org's subscriptions; company_id NULL = every company of the org
--   webhook_deliveries          the outbox: one row per (event, webhook), written in the transaction
--                               of the state change that caused the event; its id is the
--                               `webhook-id` header of every attempt
--   webhook_delivery_attempts   one row per HTTP attempt, what `webhooks/deliveries` lists
CREATE TABLE webhooks (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                      uuid NOT NULL REFERENCES orgs (id),
    company_id                  uuid,
    url                         text NOT NULL CHECK (length(url) <= 2048),
    events                      text[] NOT NULL CHECK (cardinality(events) > 0),
    -- the signing secret ("whsec_" + base64); never returned after create/rotate
    secret                      text NOT NULL,
    -- after a rotation the old secret also signs until it expires (receivers switch at leisure)
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id)
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, created_at DESC, id DESC);
CREATE TRIGGER webhooks_updated_at BEFORE UPDATE ON webhooks FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL,
    webhook_id       uuid NOT NULL,
    event_type       text NOT NULL,
    -- the exact body bytes (JSON text): every retry sends and signs the same body
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    -- when the next attempt is due; while an attempt is in flight, the end of its lease
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    -- deleting a webhook drops its pending deliveries and their history
    FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks (org_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id);
CREATE TRIGGER webhook_deliveries_updated_at BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;

CREATE TABLE webhook_delivery_attempts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL,
    webhook_id       uuid NOT NULL,
    delivery_id      uuid NOT NULL,
    attempt          integer NOT NULL CHECK (attempt >= 1),
    status_code      integer,
    error            text,
    duration_ms      integer NOT NULL,
    at               timestamptz NOT NULL,
    -- when the delivery is retried after this attempt; NULL once delivered or given up
    next_attempt_at  timestamptz,
    UNIQUE (delivery_id, attempt),
    FOREIGN KEY (org_id, delivery_id) REFERENCES webhook_deliveries (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks (org_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_delivery_attempts_webhook_idx ON webhook_delivery_attempts (webhook_id, at DESC, id DESC);
ALTER TABLE webhook_delivery_attempts ENABLE ROW LEVEL SECURITY;
