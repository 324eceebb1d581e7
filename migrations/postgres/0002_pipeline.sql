-- Projects, their scenes, and the orchestrator's steps (one per unit of work).

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    language      TEXT NOT NULL,
    voice         TEXT,
    plan          TEXT NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    fps           BIGINT NOT NULL,
    watermark     BIGINT NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    duration_ms   BIGINT,
    video_key     TEXT,
    thumbnail_key TEXT,
    captions_key  TEXT,
    srt_key       TEXT,
    bytes_stored  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT
);
CREATE INDEX projects_tenant ON projects(tenant_id, id);
CREATE INDEX projects_status ON projects(status);

CREATE TABLE scenes (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    scene_index BIGINT NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (project_id, scene_index)
);

CREATE TABLE steps (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    scene_index      BIGINT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL DEFAULT 3,
    run_after        BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    idempotency_key  TEXT,
    output           TEXT,
    warning          TEXT,
    error            TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    duration_ms      BIGINT
);
CREATE INDEX steps_claim ON steps(status, run_after);
CREATE INDEX steps_project ON steps(project_id, kind, scene_index);
