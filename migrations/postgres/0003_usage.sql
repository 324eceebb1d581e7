-- Usage metering: one ledger row per successful step (exactly once, by its
-- idempotency key) and one reservation per unfinished project.
-- Amounts are integers in base units: images (count), tts (milliseconds of
-- speech), render (milliseconds of video).

CREATE TABLE usage_ledger (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    project_id      TEXT,
    metric          TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    period          TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX usage_ledger_tenant ON usage_ledger(tenant_id, period, metric);
CREATE INDEX usage_ledger_time ON usage_ledger(tenant_id, created_at);

CREATE TABLE usage_reservations (
    project_id TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    images     BIGINT NOT NULL,
    tts_ms     BIGINT NOT NULL,
    render_ms  BIGINT NOT NULL,
    storage_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX usage_reservations_tenant ON usage_reservations(tenant_id);
