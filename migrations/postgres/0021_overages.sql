-- Overages (SPEC 4.9): usage past the quota admitted up to a monthly cap
-- the owner sets, and reported to Stripe as Billing Meter events through an
-- outbox written in the same transaction as the ledger row.

-- One row per tenant that ever set overages. `admitted_period` is the last
-- month (YYYY-MM) in which admission let work past a quota: usage past the
-- quota recorded in that month is billed even after overages are turned off
-- (the work was admitted as billable).
CREATE TABLE overage_settings (
    tenant_id       TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    enabled         BIGINT NOT NULL DEFAULT 0,
    cap_cents       BIGINT NOT NULL DEFAULT 0,
    admitted_period TEXT,
    updated_at      BIGINT NOT NULL
);

-- The outbox: one row per ledger row with a part past the quota. `identifier`
-- is derived from the ledger row and sent to Stripe, which counts an
-- identifier once; `value` is in the metric's base unit (images, ms of speech,
-- ms of video), so the reported values add up to the overage exactly.
CREATE TABLE overage_reports (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ledger_id       TEXT NOT NULL UNIQUE,
    identifier      TEXT NOT NULL UNIQUE,
    metric          TEXT NOT NULL,
    value           BIGINT NOT NULL,
    period          TEXT NOT NULL,
    -- the ledger row's time (ms); Stripe gets it in seconds
    event_at        BIGINT NOT NULL,
    -- pending, sent (acknowledged by Stripe), failed (refused; billing-sync resends)
    status          TEXT NOT NULL,
    attempt         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    error           TEXT,
    sent_at         BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX overage_reports_due ON overage_reports (status, next_attempt_at);
CREATE INDEX overage_reports_tenant ON overage_reports (tenant_id, period, metric);
