-- A tenant's own brand templates (src/templates/, SPEC 4.8): each is built on a
-- built-in template (`base_id`) and overrides some of it; `settings` is the
-- checked overrides as JSON (palette, text colour, fonts, caption style, logo,
-- music, motion, transition).
CREATE TABLE tenant_templates (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    base_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    settings    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX tenant_templates_tenant ON tenant_templates (tenant_id, id);

-- The template a project was created with, resolved in full (a built-in with a
-- tenant template's overrides, fonts and logo copied under the project), so
-- editing or deleting the tenant template never changes the project's renders.
-- NULL: a built-in template, read by `template_id`.
ALTER TABLE projects ADD COLUMN template TEXT;
