-- Projects, their scenes, and the orchestrator's steps (one per unit of work).

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    language      TEXT NOT NULL,
    voice         TEXT,
    plan          TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    fps           INTEGER NOT NULL,
    watermark     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    duration_ms   INTEGER,
    video_key     TEXT,
    thumbnail_key TEXT,
    captions_key  TEXT,
    srt_key       TEXT,
    bytes_stored  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX projects_tenant ON projects(tenant_id, id);
CREATE INDEX projects_status ON projects(status);

CREATE TABLE scenes (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scene_index INTEGER NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (project_id, scene_index)
);

CREATE TABLE steps (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    scene_index      INTEGER NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    run_after        INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    idempotency_key  TEXT,
    output           TEXT,
    warning          TEXT,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    duration_ms      INTEGER
);
CREATE INDEX steps_claim ON steps(status, run_after);
CREATE INDEX steps_project ON steps(project_id, kind, scene_index);
