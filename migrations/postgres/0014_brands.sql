-- A paid tenant's brand: its logo (a PNG in storage, normalised from the
-- PNG or SVG it uploaded), the corner it sits in and its opacity.
CREATE TABLE brands (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    logo_key    TEXT,
    logo_hash   TEXT,
    corner      TEXT NOT NULL DEFAULT 'bottom_right',
    opacity     DOUBLE PRECISION NOT NULL DEFAULT 0.85,
    updated_at  BIGINT NOT NULL
);
