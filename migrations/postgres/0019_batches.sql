-- Batches (SPEC 4.8): one template script rendered once per row of data. Each
-- row is an ordinary project that names its batch and its place in it; a
-- batch's status is read from its projects. completed_at is set once, by the
-- transaction that makes its last row finish, which also queues the one
-- batch.completed webhook.
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    template_id  TEXT NOT NULL,
    -- the template script's title, merge fields not filled in
    title        TEXT NOT NULL,
    row_count    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX batches_tenant ON batches (tenant_id, id);

ALTER TABLE projects ADD COLUMN batch_id TEXT REFERENCES batches(id) ON DELETE SET NULL;
-- the row's index in the batch (0-based)
ALTER TABLE projects ADD COLUMN batch_row BIGINT;
CREATE INDEX projects_batch ON projects (batch_id, batch_row);
