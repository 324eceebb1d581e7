-- The tenant's media library: pictures and clips uploaded once, used by
-- scenes (scenes.media_id). `bytes` is everything stored for one item (the
-- original, an image's PNG render copy and the thumbnail) and counts toward
-- storage_mb from the moment the row exists. Files live under
-- tenants/{tenant_id}/media/{id}/.
CREATE TABLE media (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    filename      TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    width         INTEGER,
    height        INTEGER,
    duration_ms   INTEGER,
    file_key      TEXT NOT NULL,
    render_key    TEXT NOT NULL,
    thumbnail_key TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX media_tenant ON media(tenant_id, id);
