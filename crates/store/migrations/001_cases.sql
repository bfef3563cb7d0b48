-- Cases: evidence custody, hunt runs, detections (deduplicated), the analysis (incidents,
-- attribution history, report snapshot), analyst verdicts and notes. Every item has a TLP.
-- Times are RFC 3339 UTC text (they sort as text); `ts` of a detection is normalised to nine
-- fractional digits so that it sorts in time order whatever precision the evidence had.
CREATE TABLE case_cases (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    tlp          TEXT NOT NULL DEFAULT 'TLP:AMBER',
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created      TEXT NOT NULL,
    updated      TEXT NOT NULL
);

-- Evidence sources: the first time a (sha256, path) was added to the case, by whom.
CREATE TABLE case_evidence (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    path      TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    added_by  TEXT NOT NULL,
    added_at  TEXT NOT NULL,
    tlp       TEXT NOT NULL,
    UNIQUE (case_id, sha256, path)
);

-- Chain of custody: every time evidence was added or hunted again. Append-only.
CREATE TABLE case_custody (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    sha256   TEXT NOT NULL,
    path     TEXT NOT NULL,
    action   TEXT NOT NULL CHECK (action IN ('added', 're-hunted')),
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX case_custody_case ON case_custody(case_id, id);

-- Hunt runs into the case.
CREATE TABLE case_runs (
    id                  INTEGER PRIMARY KEY,
    case_id             INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    actor               TEXT NOT NULL,
    started             TEXT NOT NULL,
    finished            TEXT NOT NULL,
    paths               TEXT NOT NULL,          -- JSON array of the paths hunted
    rules               INTEGER NOT NULL,
    events              INTEGER NOT NULL,
    detections_added    INTEGER NOT NULL,
    detections_already  INTEGER NOT NULL
);
CREATE INDEX case_runs_case ON case_runs(case_id, finished);

-- Detections. `key` is the SHA-256 of the detection's JSON: the same hit from the same record
-- is stored once however often the evidence is hunted.
CREATE TABLE case_detections (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    ts              TEXT,                       -- normalised RFC 3339 (sortable), NULL if none
    level           INTEGER,                    -- 0 informational .. 4 critical, NULL if none
    host            TEXT COLLATE NOCASE,
    rule_id         TEXT,
    rule_title      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    attack          TEXT NOT NULL,              -- technique ids, upper-case, space-separated
    path            TEXT NOT NULL,
    record_id       INTEGER,
    line            INTEGER,
    search          TEXT NOT NULL,              -- lower-cased text for substring search
    tlp             TEXT NOT NULL,
    json            TEXT NOT NULL,
    added_at        TEXT NOT NULL,
    verdict         TEXT CHECK (verdict IN ('true-positive', 'false-positive', 'undetermined')),
    verdict_by      TEXT,
    verdict_reason  TEXT,
    verdict_at      TEXT,
    UNIQUE (case_id, key)
);
-- The timeline (and its paging) walks this index in either direction.
CREATE INDEX case_detections_time ON case_detections(case_id, ts, path, record_id, line);
-- Incidents find their detections' TLP by record.
CREATE INDEX case_detections_source ON case_detections(case_id, path, record_id, line);
CREATE INDEX case_detections_level ON case_detections(case_id, level);
CREATE INDEX case_detections_host ON case_detections(case_id, host);
CREATE INDEX case_detections_verdict ON case_detections(case_id, verdict);

-- Every verdict ever given, append-only (the current one is on the detection).
CREATE TABLE case_verdicts (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    verdict  TEXT NOT NULL CHECK (verdict IN ('true-positive', 'false-positive', 'undetermined')),
    analyst  TEXT NOT NULL,
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX case_verdicts_case ON case_verdicts(case_id, id);

-- The incidents of the current analysis (replaced by each analysis).
CREATE TABLE case_incidents (
    case_id        INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    title          TEXT NOT NULL,
    severity       TEXT NOT NULL,
    severity_rank  INTEGER NOT NULL,
    first_seen     TEXT,
    last_seen      TEXT,
    detections     INTEGER NOT NULL,
    tlp            TEXT NOT NULL,
    json           TEXT NOT NULL,
    PRIMARY KEY (case_id, id)
);

-- Attribution assessments, a history: a new row only when the assessment changed.
CREATE TABLE case_assessments (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    created          TEXT NOT NULL,
    top_id           TEXT,
    top_name         TEXT,
    top_probability  REAL,
    verdict          TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,             -- SHA-256 of the JSON without timings
    tlp              TEXT NOT NULL,
    json             TEXT NOT NULL
);
CREATE INDEX case_assessments_case ON case_assessments(case_id, id);

-- The current analysis (the report's Investigation), one per case.
CREATE TABLE case_analysis (
    case_id        INTEGER PRIMARY KEY REFERENCES case_cases(id) ON DELETE CASCADE,
    saved          TEXT NOT NULL,
    assessment_id  INTEGER REFERENCES case_assessments(id),
    tlp            TEXT NOT NULL,
    json           TEXT NOT NULL
);

-- Analyst notes on the case, a detection or an incident.
CREATE TABLE case_notes (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES case_cases(id) ON DELETE CASCADE,
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('case', 'detection', 'incident')),
    target_id    TEXT NOT NULL DEFAULT '',
    author       TEXT NOT NULL,
    text         TEXT NOT NULL,
    tlp          TEXT NOT NULL,
    created      TEXT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes(case_id, id);
