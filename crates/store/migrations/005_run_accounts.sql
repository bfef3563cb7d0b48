-- What each hunt run read, file by file: every record hunted, left out by the time window, or
-- skipped with a reason (`skipped` is a JSON object reason -> count).
CREATE TABLE case_run_files (
    run_id             INTEGER NOT NULL REFERENCES case_runs(id) ON DELETE CASCADE,
    path               TEXT NOT NULL,
    format             TEXT,
    events             INTEGER NOT NULL,
    hunted             INTEGER NOT NULL,
    outside_window     INTEGER NOT NULL,
    without_timestamp  INTEGER NOT NULL,
    skipped            TEXT NOT NULL,
    complete           INTEGER NOT NULL
);
CREATE INDEX case_run_files_run ON case_run_files(run_id);

-- The evidence files of each run, hashed before and after the hunt. `intact` is 1 when both
-- hashes could be taken and are equal.
CREATE TABLE case_run_integrity (
    run_id         INTEGER NOT NULL REFERENCES case_runs(id) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    sha256_before  TEXT,
    sha256_after   TEXT,
    size_before    INTEGER,
    size_after     INTEGER,
    intact         INTEGER NOT NULL,
    problem        TEXT
);
CREATE INDEX case_run_integrity_run ON case_run_integrity(run_id);
