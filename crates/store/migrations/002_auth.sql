-- Users, API tokens, console sessions and per-collection grants.
-- Secrets are never stored: tokens and sessions keep the SHA-256 of their secret part.
CREATE TABLE auth_users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    created    TEXT NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE auth_tokens (
    id         TEXT PRIMARY KEY,           -- public part, shown in listings
    user       TEXT NOT NULL REFERENCES auth_users(name) ON DELETE CASCADE,
    hash       TEXT NOT NULL,              -- SHA-256 (hex) of the secret part
    label      TEXT NOT NULL DEFAULT '',
    created    TEXT NOT NULL,
    last_used  TEXT,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX auth_tokens_user ON auth_tokens(user);
CREATE TABLE auth_sessions (
    id         TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES auth_users(name) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created    TEXT NOT NULL,
    expires    TEXT NOT NULL
);
CREATE TABLE auth_grants (
    user          TEXT NOT NULL REFERENCES auth_users(name) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    can_read      INTEGER NOT NULL,
    can_write     INTEGER NOT NULL,
    PRIMARY KEY (user, collection_id)
);
