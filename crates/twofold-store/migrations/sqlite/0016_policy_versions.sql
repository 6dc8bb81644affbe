-- Conditional-access policy versions: every applied file, kept; the highest version is in force.
CREATE TABLE policy_versions (
    version    BIGINT PRIMARY KEY,
    source     TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    note       TEXT
);
