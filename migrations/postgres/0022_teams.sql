-- Teams (SPEC 4.9): a person (`users`, one row per e-mail address) belongs to
-- one or more tenants through `memberships`, each with a role. Until now a
-- user row was its tenant's only member; each becomes that tenant's owner.

CREATE TABLE memberships (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- owner, admin or member
    role       TEXT NOT NULL,
    joined_at  BIGINT NOT NULL,
    -- the member who invited this one (NULL for a tenant's first owner)
    invited_by TEXT,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
-- One owner per tenant: a handover demotes the old owner first, in the same transaction.
CREATE UNIQUE INDEX memberships_one_owner ON memberships (tenant_id) WHERE role = 'owner';

INSERT INTO memberships (tenant_id, user_id, role, joined_at)
    SELECT tenant_id, id, 'owner', created_at FROM users;

-- The tenant a plain sign-in opens (the last one used); any membership may be switched to.
ALTER TABLE users ADD COLUMN last_tenant_id TEXT;
UPDATE users SET last_tenant_id = tenant_id;
DROP INDEX users_tenant;
ALTER TABLE users DROP COLUMN tenant_id;
ALTER TABLE users DROP COLUMN role;

-- An invitation by e-mail. Its link is a magic link (`magic_links.invite_id`):
-- hashed, single use, expiring with the invitation. Pending: neither accepted
-- nor revoked, and not expired.
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    invited_by  TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX invites_tenant ON invites (tenant_id, email);

ALTER TABLE magic_links ADD COLUMN invite_id TEXT;

-- Who made a project: a member (user id), or an API key (key id).
ALTER TABLE projects ADD COLUMN created_by TEXT;
ALTER TABLE projects ADD COLUMN created_by_key TEXT;
