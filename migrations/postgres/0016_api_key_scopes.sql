-- Named, scoped API keys (src/auth/api_keys.rs, src/auth/scopes.rs): a name,
-- the scopes a key may use (space-separated, e.g. "projects:read media:write"),
-- when it was last used (written at most once a minute), and whether it is the
-- key of POST /api/account/rotate-api-key (legacy = 1: the one key rotation
-- replaces). Keys made before this change were rotation's: they become its
-- "Default key" with every scope.
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT 'Default key';
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'projects:read projects:write media:write webhooks:manage account:read';
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN legacy INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET legacy = 1;
