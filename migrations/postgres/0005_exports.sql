-- GDPR exports: one row per requested export; the ZIP lives in storage under
-- tenants/{tenant_id}/exports/{filename} until it expires.
CREATE TABLE exports (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    filename    TEXT NOT NULL UNIQUE,
    size_bytes  BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT,
    expires_at  BIGINT
);
CREATE INDEX exports_tenant ON exports(tenant_id, status);

-- Backup runs, for the status page.
CREATE TABLE backup_runs (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    file        TEXT,
    size_bytes  BIGINT,
    error       TEXT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT
);
