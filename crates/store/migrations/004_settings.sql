-- Per-case settings that later analyses reuse (victim sectors and countries for attribution).
CREATE TABLE case_settings (
    case_name  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated    TEXT NOT NULL,
    PRIMARY KEY (case_name, key)
);
