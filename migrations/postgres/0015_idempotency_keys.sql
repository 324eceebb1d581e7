-- Idempotency-Key on the POSTs that create (src/idempotency.rs): a tenant's
-- key, a hash of the request that took it, and the answer once there is one
-- (status NULL while the request runs). Kept for 24 hours.
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    idem_key      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status        BIGINT,
    content_type  TEXT,
    location      TEXT,
    body          BYTEA,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
