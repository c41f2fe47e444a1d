-- 021_cost_ledger_and_budgets: what each provider call cost, and monthly spend limits
-- (CONTRACT §9.4, docs/costs.md, docs/decisions/0056-0058).

-- The ledger: each attempt's cost in the provider's own unit (reported by the provider, else its
-- documented price) and in USD (credits × DATA_ENGINE_<PROVIDER>_USD_PER_CREDIT). NULL: unknown.
ALTER TABLE operation_attempts
    ADD COLUMN cost_credits numeric CHECK (cost_credits >= 0),
    ADD COLUMN cost_usd numeric CHECK (cost_usd >= 0);

-- One limit per scope: the org (company_id NULL) or one of its companies.
CREATE TABLE budgets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    company_id  uuid,
    limit_usd   numeric NOT NULL CHECK (limit_usd >= 0),
    period      text NOT NULL DEFAULT 'month' CHECK (period = 'month'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, company_id) REFERENCES companies (org_id, id) ON DELETE CASCADE
);
-- NULLS NOT DISTINCT needs PostgreSQL 15: one org-wide budget per org, one per company
CREATE UNIQUE INDEX budgets_scope_key ON budgets (org_id, company_id) NULLS NOT DISTINCT;
CREATE TRIGGER budgets_updated_at BEFORE UPDATE ON budgets FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;

-- A budget's spend in one period (UTC calendar month). `reserved_usd` is what calls in flight
-- hold: a call starts only through a conditional UPDATE of these rows (app/repositories/budgets.py).
CREATE TABLE budget_periods (
    org_id        uuid NOT NULL,
    budget_id     uuid NOT NULL,
    period_start  date NOT NULL,
    spent_usd     numeric NOT NULL DEFAULT 0 CHECK (spent_usd >= 0),
    reserved_usd  numeric NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0),
    PRIMARY KEY (budget_id, period_start),
    FOREIGN KEY (org_id, budget_id) REFERENCES budgets (org_id, id) ON DELETE CASCADE
);
ALTER TABLE budget_periods ENABLE ROW LEVEL SECURITY;

-- One call in flight: what it reserved on which budgets, until it settles. A process that dies
-- mid-call leaves its hold; once expired, the next reservation on those budgets gives it back.
CREATE TABLE budget_holds (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    budget_ids    uuid[] NOT NULL,
    period_start  date NOT NULL,
    amount_usd    numeric NOT NULL CHECK (amount_usd >= 0),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX budget_holds_org_expiry_idx ON budget_holds (org_id, expires_at);
ALTER TABLE budget_holds ENABLE ROW LEVEL SECURITY;
