-- TAXII 2.1: API roots, collections, their objects (every version) and add-objects status
-- resources. Timestamps the store writes are RFC 3339 UTC with microseconds, so they sort as
-- text; `date_added` is strictly increasing per insert (taxii_clock), which makes `added_after`
-- and the pagination cursor exact.
CREATE TABLE taxii_api_roots (
    name        TEXT PRIMARY KEY,          -- the URL segment: /taxii2/{name}/
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL
);
INSERT INTO taxii_api_roots (name, title, description, created)
VALUES ('tiaki', 'tiaki', 'The TAXII 2.1 API root of this tiaki server.',
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE taxii_collections (
    id          TEXT PRIMARY KEY,          -- UUIDv4
    api_root    TEXT NOT NULL REFERENCES taxii_api_roots(name),
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    alias       TEXT,
    max_tlp     TEXT NOT NULL,             -- TLP label, e.g. TLP:AMBER: the ceiling
    created     TEXT NOT NULL
);
CREATE UNIQUE INDEX taxii_collections_alias ON taxii_collections(api_root, alias)
    WHERE alias IS NOT NULL;

CREATE TABLE taxii_objects (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id TEXT NOT NULL REFERENCES taxii_collections(id) ON DELETE CASCADE,
    stix_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    spec_version  TEXT NOT NULL,
    version       TEXT NOT NULL,           -- as published: `modified`, or date_added
    version_key   TEXT NOT NULL,           -- `version` normalised to UTC microseconds
    date_added    TEXT NOT NULL,
    tlp           INTEGER NOT NULL,        -- 0 CLEAR .. 4 RED
    json          TEXT NOT NULL,
    UNIQUE (collection_id, stix_id, version_key)
);
CREATE INDEX taxii_objects_added ON taxii_objects(collection_id, date_added, seq);
CREATE INDEX taxii_objects_type ON taxii_objects(collection_id, type);

CREATE TABLE taxii_status (
    id                TEXT PRIMARY KEY,    -- UUIDv4
    api_root          TEXT NOT NULL,
    collection_id     TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'complete')),
    request_timestamp TEXT NOT NULL,
    total_count       INTEGER NOT NULL,
    success_count     INTEGER NOT NULL,
    failure_count     INTEGER NOT NULL,
    pending_count     INTEGER NOT NULL,
    successes         TEXT NOT NULL,       -- JSON [{id, version, message?}]
    failures          TEXT NOT NULL,
    pendings          TEXT NOT NULL
);

-- The last date_added handed out, so date_added never repeats or goes back, even after a
-- delete or a clock step.
CREATE TABLE taxii_clock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_added TEXT NOT NULL
);
INSERT INTO taxii_clock (id, last_added) VALUES (1, '');
