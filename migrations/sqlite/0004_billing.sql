-- Stripe: one billing account per tenant, the webhook inbox (each event id
-- once), and notices sent (each failed invoice attempt e-mailed once).

CREATE TABLE billing_accounts (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    stripe_customer_id   TEXT UNIQUE,
    subscription_id      TEXT,
    price_id             TEXT,
    status               TEXT,
    current_period_end   INTEGER,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

CREATE TABLE billing_notices (
    notice_key TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
