-- no-transaction
-- Teams (SPEC 4.9): a person (`users`, one row per e-mail address) belongs to
-- one or more tenants through `memberships`, each with a role. Until now a
-- user row was its tenant's only member; each becomes that tenant's owner.
--
-- SQLite cannot drop `users.tenant_id` (a foreign key), so `users` is rebuilt
-- (SQLite's documented twelve steps). Foreign keys are off while the table is
-- swapped, or dropping the old table would cascade to `refresh_tokens`; that
-- pragma is ignored inside a transaction, hence `no-transaction` above and
-- the explicit BEGIN/COMMIT.

PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE users_new (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER,
    -- The tenant a plain sign-in opens (the last one used); any membership may be switched to.
    last_tenant_id TEXT
);
INSERT INTO users_new (id, email, created_at, last_login_at, last_tenant_id)
    SELECT id, email, created_at, last_login_at, tenant_id FROM users;

CREATE TABLE memberships (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- owner, admin or member
    role       TEXT NOT NULL,
    joined_at  INTEGER NOT NULL,
    -- the member who invited this one (NULL for a tenant's first owner)
    invited_by TEXT,
    PRIMARY KEY (tenant_id, user_id)
);
INSERT INTO memberships (tenant_id, user_id, role, joined_at)
    SELECT tenant_id, id, 'owner', created_at FROM users;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX memberships_user ON memberships (user_id);
-- One owner per tenant: a handover demotes the old owner first, in the same transaction.
CREATE UNIQUE INDEX memberships_one_owner ON memberships (tenant_id) WHERE role = 'owner';

-- An invitation by e-mail. Its link is a magic link (`magic_links.invite_id`):
-- hashed, single use, expiring with the invitation. Pending: neither accepted
-- nor revoked, and not expired.
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    invited_by  TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX invites_tenant ON invites (tenant_id, email);

ALTER TABLE magic_links ADD COLUMN invite_id TEXT;

-- Who made a project: a member (user id), or an API key (key id).
ALTER TABLE projects ADD COLUMN created_by TEXT;
ALTER TABLE projects ADD COLUMN created_by_key TEXT;

COMMIT;
PRAGMA foreign_keys = ON;
