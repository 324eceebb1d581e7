-- Outgoing webhooks (src/webhooks/, SPEC 4.8). An endpoint's secret is not
-- stored: it is derived from the server key, its id and salt (sign.rs).
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- space-separated event types; empty: every event
    events          TEXT NOT NULL DEFAULT '',
    secret_salt     TEXT NOT NULL,
    -- set when it was turned off (by its owner, or after 5 days of failures)
    disabled_at     INTEGER,
    disabled_reason TEXT,
    -- the first failed attempt since the last success
    failing_since   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

-- One message to one endpoint, and the queue of its attempts: pending rows
-- are claimed with a lease when next_attempt_at has come.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- webhook-id: the same for every attempt of the message
    message_id      TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    -- pending, succeeded, failed (gave up)
    status          TEXT NOT NULL,
    attempt         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    status_code     INTEGER,
    duration_ms     INTEGER,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

-- usage.near_limit is sent once per tenant, month and metric.
CREATE TABLE usage_notices (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    period     TEXT NOT NULL,
    metric     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, period, metric)
);
